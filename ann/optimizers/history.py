"""What a training run records: one StepRecord per step (the provenance of every change)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ann.tools.exploration import DraftRun
from ann.trace import Usage


@dataclass
class StepRecord:
    """One optimizer step: what changed, why (the gradient), and what validation said.

    ``val_score`` is None when nothing was proposed (all solved, or every rewrite rejected);
    ``verdict`` is the gate's paired comparison with the incumbent (see ``ann.optimizers.gate.Verdict``).
    """

    step: int
    epoch: int
    batch: int
    train_score: float | None  # None for steps that run no minibatch (demos, structure, DRAFT)
    val_score: float | None
    best_score: float
    accepted: bool
    changes: list[dict[str, str]] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    screened: list[float] = field(default_factory=list)
    note: str = ""
    verdict: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        return cls(**data)


@dataclass
class TrainingRun:
    """What a compile did: scores before and after, every step, why it stopped, what it spent.

    ``best_score`` is the final graph's validation score, measured afresh at the end; ``holdout``
    holds the ``--holdout`` scores of the untrained and trained graph and which one was picked.
    """

    baseline_score: float
    best_score: float
    history: list[StepRecord] = field(default_factory=list)
    stopped: str = ""
    usage: Usage = field(default_factory=Usage)
    elapsed_s: float = 0.0
    data: dict[str, str] = field(default_factory=dict)
    draft: list[DraftRun] = field(default_factory=list)
    holdout: dict[str, Any] = field(default_factory=dict)
