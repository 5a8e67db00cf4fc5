"""MetricResult: what every metric returns — a score and, when useful, feedback in words."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricResult:
    """A metric's verdict on one prediction.

    Args:
        score: In [0, 1]; 1 means solved.
        feedback: Why the score is what it is, in words (fed to the backward pass later).
    """

    score: float
    feedback: str = ""
