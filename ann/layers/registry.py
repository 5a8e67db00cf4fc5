"""The aggregators a spec may name, by name."""

from __future__ import annotations

from ann.layers.base import Aggregator
from ann.layers.best_of_n import BestOfN
from ann.layers.critique import Critique
from ann.layers.debate import Debate
from ann.layers.judge import Judge
from ann.layers.refine import Refine
from ann.layers.route import Route
from ann.layers.single import Single
from ann.layers.synthesize import Synthesize
from ann.layers.verify import Verify
from ann.layers.vote import Vote

AGGREGATORS: dict[str, type[Aggregator]] = {
    cls.name: cls for cls in (Single, Vote, Judge, Synthesize, Debate, Refine, BestOfN, Critique, Route, Verify)
}


def proposable_aggregators() -> list[str]:
    """The team types a planner or a structural edit may choose without setting options, sorted."""
    return sorted(name for name, cls in AGGREGATORS.items() if cls.proposable)


def aggregator_class(name: str) -> type[Aggregator] | None:
    return AGGREGATORS.get(name)
