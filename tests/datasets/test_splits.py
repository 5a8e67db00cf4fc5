"""split(): seeded, reproducible, a true partition, and strict about its fractions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ann.datasets import Example, split


def examples(n: int) -> list[Example]:
    return [Example(inputs={"i": i}, id=str(i)) for i in range(n)]


def ids(part: list[Example]) -> list[str]:
    return [e.id for e in part]


def test_default_fractions_give_60_20_20() -> None:
    train, val, test = split(examples(10), seed=0)
    assert (len(train), len(val), len(test)) == (6, 2, 2)


def test_same_seed_same_split_and_different_seed_different_split() -> None:
    data = examples(50)
    first = split(data, seed=1)
    assert [ids(p) for p in split(data, seed=1)] == [ids(p) for p in first]
    assert [ids(p) for p in split(data, seed=2)] != [ids(p) for p in first]


def test_split_shuffles_with_random_random_seed() -> None:
    import random

    data = examples(20)
    expected = list(data)
    random.Random(5).shuffle(expected)
    train, val = split(data, fractions=(0.5, 0.5), seed=5)
    assert train + val == expected


def test_input_is_not_modified() -> None:
    data = examples(10)
    split(data, seed=3)
    assert ids(data) == [str(i) for i in range(10)]


def test_named_fractions_return_a_dict_in_key_order() -> None:
    parts = split(examples(10), fractions={"train": 0.7, "dev": 0.3}, seed=0)
    assert list(parts) == ["train", "dev"]
    assert (len(parts["train"]), len(parts["dev"])) == (7, 3)


def test_sizes_are_rounded_to_add_up() -> None:
    parts = split(examples(7), fractions=(1 / 3, 1 / 3, 1 / 3), seed=0)
    assert [len(p) for p in parts] == [3, 2, 2]


@pytest.mark.parametrize(
    ("fractions", "message"),
    [
        ((0.5, 0.4), r"must sum to 1, got 0.5 \+ 0.4 = 0.9"),
        ((1.2, -0.2), r"fraction #1 must be positive and finite, got -0.2"),
        ((1.0, 0.0), r"fraction #1 must be positive and finite, got 0.0"),
        ({"train": 1.0, "val": 0}, r"fraction 'val' must be positive and finite, got 0"),
        ((float("nan"), 1.0), r"fraction #0 must be positive and finite, got nan"),
        ((), r"must not be empty"),
    ],
)
def test_bad_fractions_are_value_errors_naming_the_value(fractions: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split(examples(5), fractions=fractions, seed=0)  # type: ignore[call-overload]


@pytest.mark.parametrize("fractions", [("0.5", "0.5"), (True, 0.0)])
def test_non_numeric_fractions_are_type_errors(fractions: object) -> None:
    with pytest.raises(TypeError, match="must be a number"):
        split(examples(5), fractions=fractions, seed=0)  # type: ignore[call-overload]


def test_seed_must_be_an_int() -> None:
    with pytest.raises(TypeError, match="seed must be an int"):
        split(examples(5), seed="1")  # type: ignore[call-overload]


@st.composite
def fraction_lists(draw: st.DrawFn) -> list[float]:
    weights = draw(st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=5))
    return [w / sum(weights) for w in weights]


@given(n=st.integers(min_value=0, max_value=200), seed=st.integers(), fractions=fraction_lists())
def test_split_is_a_deterministic_partition_with_fair_sizes(n: int, seed: int, fractions: list[float]) -> None:
    data = examples(n)
    parts = split(data, fractions=fractions, seed=seed)
    assert [ids(p) for p in parts] == [ids(p) for p in split(data, fractions=fractions, seed=seed)]
    assert sorted(i for p in parts for i in ids(p)) == sorted(ids(data))
    for part, fraction in zip(parts, fractions, strict=True):
        assert abs(len(part) - fraction * n) < 1
