"""Proposers: each kind of change (text rewrite, demos, structural edit, DRAFT tool docs) returns
candidates and never decides; the training loop hands every candidate to the one gate."""

from ann.optimizers.proposers.candidate import Candidate, Proposed
from ann.optimizers.proposers.demos import DemoProposer
from ann.optimizers.proposers.draft import DraftProposer
from ann.optimizers.proposers.structure import StructureProposer
from ann.optimizers.proposers.text import TextProposer

__all__ = ["Candidate", "DemoProposer", "DraftProposer", "Proposed", "StructureProposer", "TextProposer"]
