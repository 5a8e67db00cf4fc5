"""The metric protocol, and the base class for metrics that compare one field with one answer.

A metric is any callable ``metric(example, prediction) -> MetricResult`` with a `name`. A
prediction missing the scored field is the model's fault and scores 0 with feedback; an example
missing the expected field is the dataset's or config's fault and raises `ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from ann.datasets.example import Example
from ann.datasets.metric_result import MetricResult
from ann.errors import ConfigError

__all__ = ["FieldMetric", "Metric", "show"]

_SHOW_LIMIT = 200


@runtime_checkable
class Metric(Protocol):
    """Anything that scores a prediction against an example."""

    name: str

    def __call__(self, example: Example, prediction: Mapping[str, Any]) -> MetricResult:
        """Score one prediction; never raises for a bad prediction."""
        ...


class FieldMetric:
    """Base for metrics that compare ``prediction[field]`` with ``example.expected[target]``.

    If the expected value is a list or tuple, each item is an acceptable answer and the best
    score wins. Subclasses implement `score_one`.

    Args:
        field: The prediction's output field.
        target: The key in `Example.expected`; defaults to `field`.
        name: The name used in reports; defaults to the class's registry name.
    """

    default_name = "field_metric"

    def __init__(self, field: str = "answer", *, target: str | None = None, name: str | None = None):
        if not isinstance(field, str) or not field:
            raise ValueError(f"field must be a non-empty string, got {field!r}")
        if target is not None and (not isinstance(target, str) or not target):
            raise ValueError(f"target must be a non-empty string or None, got {target!r}")
        self.field = field
        self.target = field if target is None else target
        self.name = self.default_name if name is None else name

    def __call__(self, example: Example, prediction: Mapping[str, Any]) -> MetricResult:
        """Score ``prediction[field]`` against every acceptable answer; keep the best."""
        answers = self.expected_answers(example)
        if not isinstance(prediction, Mapping):
            raise TypeError(f"{self.name}: prediction must be a dict of output fields, got {type(prediction).__name__}")
        if prediction.get(self.field) is None:
            has = ", ".join(map(str, prediction)) or "no fields"
            return MetricResult(0.0, f"the prediction has no field {self.field!r} (has: {has})")
        predicted = str(prediction[self.field])
        results = [self.score_one(predicted, answer) for answer in answers]
        return max(results, key=lambda result: result.score)

    def score_one(self, predicted: str, expected: Any) -> MetricResult:
        """Score a predicted text against one acceptable answer."""
        raise NotImplementedError(f"{type(self).__name__} must implement score_one()")

    def expected_answers(self, example: Example) -> list[Any]:
        """The acceptable answers for an example (a list, even when there is one)."""
        if self.target not in example.expected:
            has = ", ".join(example.expected) or "no fields"
            raise ConfigError(
                f"{self.name}: example {example.id!r} has no expected field {self.target!r} "
                f"(has: {has}); set the metric's target"
            )
        value = example.expected[self.target]
        answers = list(value) if isinstance(value, list | tuple) else [value]
        if not answers:
            raise ConfigError(f"{self.name}: example {example.id!r} has an empty answer list")
        return answers

    def __repr__(self) -> str:
        return f"{type(self).__name__}(field={self.field!r}, target={self.target!r}, name={self.name!r})"


def show(value: Any) -> str:
    """A value quoted for feedback, cut so one long answer cannot flood a prompt."""
    text = repr(str(value))
    return text if len(text) <= _SHOW_LIMIT else text[: _SHOW_LIMIT - 5] + "...'"
