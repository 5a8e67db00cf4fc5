"""Example: one record of a dataset, split into what the graph sees and what the metric checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Example:
    """One dataset record.

    Args:
        inputs: Fields passed to the graph (e.g. ``{"question": "..."}``).
        expected: Fields only the metric sees (e.g. ``{"answer": "42"}``, or HumanEval's
            ``test`` and ``entry_point``).
        id: A stable identifier, used in traces, reports and seeded splits.

    Example:
        >>> Example(inputs={"question": "2+2?"}, expected={"answer": "4"}, id="q1")
    """

    inputs: dict[str, Any]
    expected: dict[str, Any] = field(default_factory=dict)
    id: str = ""
