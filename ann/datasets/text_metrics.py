"""Text metrics: exact match, containment and SQuAD-style token F1."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from ann.datasets.metric import FieldMetric, show
from ann.datasets.metric_result import MetricResult
from ann.datasets.normalize import answer_tokens, normalize_answer
from ann.errors import ConfigError

__all__ = ["Contains", "ExactMatch", "TokenF1"]

_MAX_LISTED_TOKENS = 10


class ExactMatch(FieldMetric):
    """1.0 when the prediction equals the answer after `normalize_answer`, else 0.0.

    Example:
        >>> ExactMatch()(Example({"q": "?"}, {"answer": "Paris"}), {"answer": '"paris."'}).score
        1.0
    """

    default_name = "exact_match"

    def score_one(self, predicted: str, expected: Any) -> MetricResult:
        """Compare normalised texts."""
        if normalize_answer(predicted) == normalize_answer(str(expected)):
            return MetricResult(1.0, f"matches the expected answer {show(expected)}")
        return MetricResult(0.0, f"expected {show(expected)}, got {show(predicted)}")


class Contains(FieldMetric):
    """1.0 when the normalised answer appears in the normalised prediction as whole words.

    ``"4"`` is not found in ``"42"``, but ``"paris"`` is found in ``"It is Paris, France."``.

    Example:
        >>> Contains()(Example({"q": "?"}, {"answer": "Paris"}), {"answer": "It is Paris."}).score
        1.0
    """

    default_name = "contains"

    def score_one(self, predicted: str, expected: Any) -> MetricResult:
        """Search for the answer, bounded by non-word characters or the ends of the text."""
        needle = normalize_answer(str(expected))
        if not needle:
            raise ConfigError(f"{self.name}: the expected answer {show(expected)} is empty after normalisation")
        pattern = rf"(?<!\w){re.escape(needle)}(?!\w)"
        if re.search(pattern, normalize_answer(predicted)):
            return MetricResult(1.0, f"contains the expected answer {show(expected)}")
        return MetricResult(0.0, f"does not contain the expected answer {show(expected)}")


class TokenF1(FieldMetric):
    """SQuAD-style token F1 between prediction and answer (see `answer_tokens`).

    Example:
        >>> TokenF1()(Example({"q": "?"}, {"answer": "the big cat"}), {"answer": "big dog"}).score
        0.5
    """

    default_name = "token_f1"

    def score_one(self, predicted: str, expected: Any) -> MetricResult:
        """Harmonic mean of token precision and recall; two empty texts score 1."""
        got, want = answer_tokens(predicted), answer_tokens(str(expected))
        if not got or not want:
            score = float(got == want)
            return MetricResult(score, "both empty" if score else f"expected {show(expected)}, got {show(predicted)}")
        common = Counter(got) & Counter(want)
        overlap = sum(common.values())
        if overlap == 0:
            return MetricResult(0.0, f"no words in common with the expected answer {show(expected)}")
        precision, recall = overlap / len(got), overlap / len(want)
        f1 = 2 * precision * recall / (precision + recall)
        feedback = f"token F1 {f1:.2f} (precision {precision:.2f}, recall {recall:.2f})"
        missing = _listed(Counter(want) - Counter(got))
        extra = _listed(Counter(got) - Counter(want))
        if missing:
            feedback += f"; missing: {missing}"
        if extra:
            feedback += f"; extra: {extra}"
        return MetricResult(f1, feedback)


def _listed(tokens: Counter[str]) -> str:
    words = list(tokens.elements())
    shown = ", ".join(words[:_MAX_LISTED_TOKENS])
    return shown + (f" (+{len(words) - _MAX_LISTED_TOKENS} more)" if len(words) > _MAX_LISTED_TOKENS else "")
