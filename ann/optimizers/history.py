"""What a training run records: one StepRecord per step (the provenance of every change)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepRecord:
    """One optimizer step: what changed, why (the gradient), and what validation said.

    ``val_score`` is None when nothing was proposed (all solved, or every rewrite rejected).
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

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        return cls(**data)
