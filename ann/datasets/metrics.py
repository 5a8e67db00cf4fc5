"""The metric registry: build a metric from its name, as configs and the CLI do."""

from __future__ import annotations

import inspect
from typing import Any

from ann.datasets.code_metric import CodePass
from ann.datasets.judge_metric import LLMJudge
from ann.datasets.metric import Metric
from ann.datasets.numeric_metric import NumericMatch
from ann.datasets.text_metrics import Contains, ExactMatch, TokenF1
from ann.errors import ConfigError

__all__ = ["METRICS", "make_metric"]

METRICS: dict[str, type] = {
    "exact_match": ExactMatch,
    "numeric_match": NumericMatch,
    "contains": Contains,
    "token_f1": TokenF1,
    "code_pass": CodePass,
    "llm_judge": LLMJudge,
}
"""Metric name -> class. Each class's constructor options are its keyword arguments."""


def make_metric(name: str, **options: Any) -> Metric:
    """Build a registered metric.

    Args:
        name: A key of `METRICS`, e.g. ``"exact_match"``.
        **options: Constructor arguments, e.g. ``field="answer"`` or, for ``"llm_judge"``,
            ``rubric=...`` and ``lm=...``.

    Returns:
        The metric.

    Raises:
        ConfigError: The name is unknown, or the options do not fit the metric.

    Example:
        >>> make_metric("numeric_match", field="answer", rel_tol=1e-4)
    """
    if name not in METRICS:
        raise ConfigError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}")
    cls = METRICS[name]
    try:
        inspect.signature(cls).bind(**options)
    except TypeError as e:
        raise ConfigError(f"bad options for metric {name!r}: {e}") from e
    try:
        return cls(**options)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"bad options for metric {name!r}: {e}") from e
