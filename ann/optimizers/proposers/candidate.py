"""What a proposer hands the training loop: a candidate change, or the reason there is none."""

from __future__ import annotations

from dataclasses import dataclass, field

from ann.graph import Graph
from ann.optimizers.tgd import Proposal


@dataclass
class Candidate:
    """One change to judge: new values for params (``proposal``), or a whole new graph (a structural edit).

    ``changes`` are the history records (param, old, new, the gradient that produced it).
    """

    kind: str
    note: str
    proposal: Proposal = field(default_factory=Proposal)
    graph: Graph | None = None
    changes: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Proposed:
    """A proposer's answer: the candidate (None: nothing worth validating) and what led to it."""

    candidate: Candidate | None
    note: str = ""
    rejected: list[dict[str, str]] = field(default_factory=list)
    train_score: float | None = None
    screened: list[float] = field(default_factory=list)


def change_records(proposal: Proposal) -> list[dict[str, str]]:
    """The history records of a proposal's changes."""
    return [{"param": c.name, "old": c.old, "new": c.new, "gradient": c.feedback} for c in proposal.changes]
