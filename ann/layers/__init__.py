"""Layers: a team of agents on one subtask, and the aggregators that combine their answers."""

from ann.layers.base import Aggregator, Candidate, LayerOutcome, TeamRun
from ann.layers.judge import Judge
from ann.layers.layer import Layer
from ann.layers.registry import AGGREGATORS
from ann.layers.single import Single
from ann.layers.synthesize import Synthesize
from ann.layers.vote import Vote

__all__ = [
    "AGGREGATORS",
    "Aggregator",
    "Candidate",
    "Judge",
    "Layer",
    "LayerOutcome",
    "Single",
    "Synthesize",
    "TeamRun",
    "Vote",
]
