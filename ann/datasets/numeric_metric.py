"""NumericMatch: compare the last number in a prediction with the expected number."""

from __future__ import annotations

import math
import re
from typing import Any

from ann.datasets.metric import FieldMetric, show
from ann.datasets.metric_result import MetricResult
from ann.errors import ConfigError

__all__ = ["NumericMatch", "extract_last_number"]

_NUMBER = re.compile(
    r"""
    (?<![\w.])                                  # not the tail of a word, date or version
    (?P<sign>[-+\u2212])?\$?
    (?P<int>\d{1,3}(?:,\d{3})+|\d+)?            # 1,234 or 1234
    (?P<frac>\.\d+)?
    (?:[eE](?P<exp>[-+]?\d+))?
    (?:\s*/\s*(?P<den>\d+(?:\.\d+)?))?          # 3/4
    \s*%?
    """,
    re.VERBOSE,
)


def extract_last_number(text: str) -> float | None:
    """The last number written in a text, or None.

    Understands signs (including U+2212), thousands commas (``"1,234"``), a ``$`` before and a
    ``%`` after (``"50%"`` is 50), decimals, exponents (``"1e-3"``) and fractions (``"3/4"``).

    Args:
        text: Any text, e.g. ``"... so the total is $1,234.50."``.

    Returns:
        The value as a float, or None when the text holds no number.
    """
    last: float | None = None
    for match in _NUMBER.finditer(text):
        if match["int"] is None and match["frac"] is None:
            continue
        exponent = f"e{match['exp']}" if match["exp"] else ""
        value = float((match["int"] or "0").replace(",", "") + (match["frac"] or "") + exponent)
        if not math.isfinite(value):  # "1e999" in a model's code: no number anyone means
            continue
        if match["den"]:
            denominator = float(match["den"])
            if denominator == 0:
                continue
            value /= denominator
        if match["sign"] in ("-", "\u2212"):
            value = -value
        last = value
    return last


class NumericMatch(FieldMetric):
    """1.0 when the last number in the prediction equals the expected number.

    Equal means within a relative tolerance (``1e-6`` by default) or an absolute ``1e-9``.
    The expected value may be a number or a text such as GSM8K's ``"... #### 72"`` (its last
    number counts).

    Args:
        field: The prediction's output field.
        target: The key in `Example.expected`; defaults to `field`.
        rel_tol: Relative tolerance for the comparison.
        name: The name used in reports.

    Example:
        >>> NumericMatch()(Example({"q": "?"}, {"answer": 1234}), {"answer": "It costs $1,234."}).score
        1.0
    """

    default_name = "numeric_match"

    def __init__(
        self,
        field: str = "answer",
        *,
        target: str | None = None,
        rel_tol: float = 1e-6,
        name: str | None = None,
    ):
        super().__init__(field, target=target, name=name)
        if not isinstance(rel_tol, int | float) or not 0 <= rel_tol < 1:
            raise ValueError(f"rel_tol must be a number in [0, 1), got {rel_tol!r}")
        self.rel_tol = float(rel_tol)

    def score_one(self, predicted: str, expected: Any) -> MetricResult:
        """Compare the last number of `predicted` with the expected number."""
        want = _expected_number(expected, self.name)
        got = extract_last_number(predicted)
        if got is None:
            return MetricResult(0.0, f"no number found in the answer, expected {_fmt(want)}")
        if math.isclose(got, want, rel_tol=self.rel_tol, abs_tol=1e-9):
            return MetricResult(1.0, f"found {_fmt(got)}, matches the expected {_fmt(want)}")
        return MetricResult(0.0, f"found {_fmt(got)} (the last number in the answer), expected {_fmt(want)}")


def _expected_number(expected: Any, metric_name: str) -> float:
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return float(expected)
    number = extract_last_number(str(expected))
    if number is None:
        raise ConfigError(f"{metric_name}: the expected answer {show(expected)} holds no number")
    return number


def _fmt(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else format(x, ".10g")
