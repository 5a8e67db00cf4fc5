"""The gate: the one place a training run decides whether a change is kept.

Every proposer (text rewrites, demos, structural edits, DRAFT tool docs) hands its candidate here
with the candidate's per-example validation scores; the gate compares them with the incumbent's
on the same examples (paired) and keeps the change only when its gain is unlikely to be noise.

The test is the exact one-sided sign test on the examples where the two disagree (for 0/1
scores this is McNemar's exact test): with ``w`` wins and ``l`` losses, the p-value is
``P(X >= w)`` for ``X ~ Binomial(w + l, 1/2)``. A gain of one example on a 12–40 example set is
never significant; 5 wins and no loss is (p = 0.031), as is 8 wins against 1 loss (p = 0.020).
Ties and insignificant gains leave the graph as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from math import comb

TIE = 1e-9  # score differences below this are ties (float noise, not a change of verdict)


def sign_test_p(wins: int, losses: int) -> float:
    """One-sided exact sign test: how likely ``wins`` or more of ``wins + losses`` coin flips are heads."""
    n = wins + losses
    if n == 0:
        return 1.0
    return sum(comb(n, k) for k in range(wins, n + 1)) / 2**n


@dataclass
class Verdict:
    """Why a candidate was kept or refused: the paired counts, the p-value and the rule applied."""

    kept: bool
    wins: int
    losses: int
    ties: int
    p_value: float
    reason: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Gate:
    """Keeps a candidate only when it beats the incumbent significantly on paired per-example scores.

    Args:
        alpha: The significance level of the one-sided sign test (smaller: fewer, surer changes).

    Example:
        >>> Gate(alpha=0.05).decide([0, 0, 0, 0, 0, 1], [1, 1, 1, 1, 1, 1]).kept
        True
    """

    def __init__(self, alpha: float = 0.05) -> None:
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        self.alpha = alpha

    def decide(self, incumbent: Sequence[float], candidate: Sequence[float]) -> Verdict:
        """Compare two score lists over the same examples, in the same order.

        Raises:
            ValueError: The lists have different lengths (they were not scored on the same examples).
        """
        if len(incumbent) != len(candidate):
            raise ValueError(f"paired scores differ in length: {len(incumbent)} vs {len(candidate)}")
        wins = sum(1 for a, b in zip(incumbent, candidate, strict=True) if b - a > TIE)
        losses = sum(1 for a, b in zip(incumbent, candidate, strict=True) if a - b > TIE)
        ties = len(incumbent) - wins - losses
        p_value = sign_test_p(wins, losses)
        counts = f"{wins} better, {losses} worse, {ties} tied"
        if wins <= losses:
            return Verdict(False, wins, losses, ties, p_value, f"no gain ({counts})")
        if p_value > self.alpha:
            return Verdict(False, wins, losses, ties, p_value, f"gain not significant ({counts}; p={p_value:.3f})")
        return Verdict(True, wins, losses, ties, p_value, f"significant gain ({counts}; p={p_value:.3f})")
