"""split(): a seeded, reproducible train/val/test split.

The same examples in the same order with the same seed always give the same split, so a run can
be reproduced from its config alone.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from numbers import Real
from typing import overload

from ann.datasets.example import Example

__all__ = ["split"]

_SUM_TOLERANCE = 1e-9


@overload
def split(examples: Iterable[Example], *, fractions: Sequence[float] = ..., seed: int) -> tuple[list[Example], ...]: ...


@overload
def split(examples: Iterable[Example], *, fractions: Mapping[str, float], seed: int) -> dict[str, list[Example]]: ...


def split(
    examples: Iterable[Example],
    *,
    fractions: Sequence[float] | Mapping[str, float] = (0.6, 0.2, 0.2),
    seed: int,
) -> tuple[list[Example], ...] | dict[str, list[Example]]:
    """Shuffle with ``random.Random(seed)`` and cut into parts of the given sizes.

    Part sizes are the fractions times the number of examples, rounded so they add up to the
    total (largest remainder first, ties to the earlier part). The input is not modified.

    Args:
        examples: The examples; their order matters, so keep it stable (e.g. file order).
        fractions: Positive fractions summing to 1, either a sequence (returns a tuple of parts in
            the same order) or a mapping such as ``{"train": 0.8, "val": 0.2}`` (returns a dict
            with the same keys in the same order).
        seed: The shuffle seed.

    Returns:
        The parts: a tuple for sequence fractions, a dict for mapping fractions.

    Raises:
        ValueError: A fraction is not positive or finite, or the fractions do not sum to 1.
        TypeError: A fraction is not a number, or `seed` is not an int.

    Example:
        >>> train, val, test = split(examples, seed=0)
        >>> parts = split(examples, fractions={"train": 0.8, "val": 0.2}, seed=0)
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    named = isinstance(fractions, Mapping)
    names = list(fractions) if named else [str(i) for i in range(len(fractions))]
    values = list(fractions.values()) if named else list(fractions)
    _check_fractions(names, values, named=named)

    shuffled = list(examples)
    random.Random(seed).shuffle(shuffled)
    parts: list[list[Example]] = []
    start = 0
    for size in _sizes(values, len(shuffled)):
        parts.append(shuffled[start : start + size])
        start += size
    if named:
        return dict(zip(names, parts, strict=True))
    return tuple(parts)


def _check_fractions(names: list[str], values: list[float], *, named: bool) -> None:
    if not values:
        raise ValueError("fractions must not be empty; e.g. fractions=(0.6, 0.2, 0.2)")
    for name, value in zip(names, values, strict=True):
        label = f"fraction {name!r}" if named else f"fraction #{name}"
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"{label} must be a number, got {value!r}")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{label} must be positive and finite, got {value!r}")
    total = math.fsum(values)
    if abs(total - 1.0) > _SUM_TOLERANCE:
        shown = " + ".join(repr(v) for v in values)
        raise ValueError(f"fractions must sum to 1, got {shown} = {total!r}")


def _sizes(values: list[float], n: int) -> list[int]:
    """Largest-remainder rounding of ``value * n`` so the sizes add up to exactly n."""
    exact = [v * n for v in values]
    sizes = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(values)), key=lambda i: (-(exact[i] - sizes[i]), i))
    for i in by_remainder[: max(0, n - sum(sizes))]:
        sizes[i] += 1
    return sizes
