"""The tools example: its data is what make_data.py generates, every answer is what the tool
returns, and the tools fail with messages that name the valid options."""

from __future__ import annotations

import datetime
import inspect
import json
import math
import re
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from example_module import load_module

from ann.datasets.numeric_metric import extract_last_number
from ann.tools import Tool

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tools"
SPLITS = ("train", "val", "test")


make_data = load_module("ann_example_tools_make_data", EXAMPLE / "make_data.py")
tools = make_data.load_tools()
TASKS = make_data.build_tasks(tools)
ALL_TASKS = [task for split in SPLITS for task in TASKS[split]]


def public_functions(module: ModuleType) -> dict[str, object]:
    return {
        name: fn
        for name, fn in vars(module).items()
        if inspect.isfunction(fn) and fn.__module__ == module.__name__ and not name.startswith("_")
    }


def answer_of(tool: str, args: dict) -> float:
    result = getattr(tools, tool)(**args)
    if isinstance(result, dict):
        result = result[make_data.ANSWER_KEYS[tool]]
    return float(result)


def test_committed_files_are_what_make_data_generates():
    for split in SPLITS:
        committed = (EXAMPLE / f"{split}.jsonl").read_text(encoding="utf-8")
        assert make_data.to_jsonl(TASKS[split]) == committed, f"{split}.jsonl is stale: run make_data.py"


def test_split_sizes_and_every_tool_in_every_split():
    assert [len(TASKS[split]) for split in SPLITS] == [12, 12, 16]
    for split in SPLITS:
        assert {task.tool for task in TASKS[split]} == set(public_functions(tools))
    ids = [task.id for task in ALL_TASKS]
    questions = [task.question for task in ALL_TASKS]
    assert len(set(ids)) == len(ids) and len(set(questions)) == len(questions)


def test_every_answer_is_the_tools_result():
    for split in SPLITS:
        rows = [json.loads(line) for line in (EXAMPLE / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]
        by_id = {row["id"]: row for row in rows}
        for task in TASKS[split]:
            assert float(by_id[task.id]["answer"]) == answer_of(task.tool, task.args), task.id
            assert extract_last_number(by_id[task.id]["answer"]) == float(by_id[task.id]["answer"])


def test_questions_are_not_written_in_the_tools_conventions():
    for task in ALL_TASKS:
        assert "SKU-" not in task.question
        assert re.search(r"\d{2}\.\d{2}\.\d{4}", task.question) is None


def test_the_tools_are_the_public_functions_and_the_spec_lists_them_all():
    assert set(public_functions(tools)) == set(tools.__all__) == set(make_data.COUNTS)
    spec = yaml.safe_load((EXAMPLE / "spec.yaml").read_text(encoding="utf-8"))
    assert spec["tools"] == "tools.py"
    (agent,) = spec["graph"]["layers"][0]["agents"]
    assert set(agent["tools"]) == set(tools.__all__)


def test_each_tool_wraps_as_an_ann_tool_with_a_terse_doc():
    for name, fn in public_functions(tools).items():
        tool = Tool(fn)
        assert tool.name == name
        assert tool.doc.value.count("\n") == 0 and len(tool.doc.value) < 40
        assert set(tool.schema()["required"]) <= set(tool.schema()["properties"])


# (tool, bad arguments, what the error message must name)
BAD_CALLS = [
    ("convert_length", {"value": 3, "unit": "furlongs", "to": "m"}, ["'furlongs'", "furlong", "hand", "league"]),
    ("convert_length", {"value": 3, "unit": "ft", "to": "meters"}, ["'meters'", "m,", "mi"]),
    ("convert_currency", {"amount": 10, "source": "usd", "target": "EUR"}, ["'usd'", "USD", "EUR", "JPY"]),
    ("convert_currency", {"amount": 10, "source": "USD", "target": "euro"}, ["'euro'", "upper-case ISO"]),
    ("workdays", {"start": "2024-03-04", "end": "15.03.2024"}, ["'2024-03-04'", "DD.MM.YYYY"]),
    ("workdays", {"start": "31.02.2024", "end": "15.03.2024"}, ["'31.02.2024'", "DD.MM.YYYY"]),
    ("workdays", {"start": "15.03.2024", "end": "04.03.2024"}, ["before", "earlier date first"]),
    ("shipping_cost", {"weight": 500, "zone": "EU"}, ["'EU'", "A (domestic)", "B (EU)", "D (rest of world)"]),
    ("shipping_cost", {"weight": 50_000, "zone": "B"}, ["grams", "30000", "50000"]),
    ("final_price", {"price": 80, "discount": 25, "tax": 0.08}, ["fraction", "0.15 for 15%", "25"]),
    ("final_price", {"price": 80, "discount": 0.25, "tax": 8}, ["fraction", "0.2 for 20%"]),
    ("stock_level", {"sku": "1042", "warehouse": "BER"}, ["'1042'", "SKU-1042", "four digits"]),
    ("stock_level", {"sku": "SKU-9999", "warehouse": "BER"}, ["'SKU-9999'", "SKU-1042 (steel kettle)"]),
    ("stock_level", {"sku": "SKU-1042", "warehouse": "Berlin"}, ["'Berlin'", "BER (Berlin)", "OSL (Oslo)"]),
    ("loan_payment", {"principal": 1000, "rate": 0.045, "term": 360}, ["percentage", "4.5 for 4.5%"]),
    ("loan_payment", {"principal": 1000, "rate": 4.5, "term": 600}, ["months", "360 for 30 years"]),
]


@pytest.mark.parametrize(("tool", "args", "names"), BAD_CALLS)
def test_bad_arguments_raise_a_value_error_naming_the_valid_options(tool, args, names):
    with pytest.raises(ValueError) as caught:
        getattr(tools, tool)(**args)
    for name in names:
        assert name in str(caught.value)


def test_every_tool_has_a_bad_call_above():
    assert {tool for tool, _, _ in BAD_CALLS} == set(public_functions(tools))


def test_the_stock_questions_name_the_items_as_the_tool_knows_them():
    with pytest.raises(ValueError) as caught:
        tools.stock_level("SKU-0000", "BER")
    for sku, name in tools._ITEMS.items():
        assert f"{sku} ({name})" in str(caught.value)
    with pytest.raises(ValueError) as caught:
        tools.stock_level("SKU-1042", "XXX")
    for code, city in tools._WAREHOUSES.items():
        assert f"{code} ({city})" in str(caught.value)


def test_tools_are_deterministic():
    fresh = make_data.load_tools()
    for task in ALL_TASKS:
        first = getattr(tools, task.tool)(**task.args)
        assert getattr(tools, task.tool)(**task.args) == first
        assert getattr(fresh, task.tool)(**task.args) == first


def test_workdays_matches_counting_day_by_day():
    start = datetime.date(2024, 2, 20)
    for length in range(0, 20):
        end = start + datetime.timedelta(days=length)
        days = (start + datetime.timedelta(days=i) for i in range(length + 1))
        expected = sum(1 for day in days if day.weekday() < 5)
        assert tools.workdays(f"{start:%d.%m.%Y}", f"{end:%d.%m.%Y}") == expected


def test_hand_worked_results():
    assert tools.convert_length(3, "furlong", "m") == 603.504
    assert tools.convert_currency(108, "USD", "EUR") == 100.0
    assert tools.shipping_cost(1200, "B")["price_eur"] == 8.9 + 2 * 1.8
    assert tools.final_price(80, 0.25, 0.08) == 64.8
    assert tools.stock_level("SKU-1042", "BER") == 37
    # 120,000 at 6% a year over 10 years: the textbook annuity gives 1332.25 a month.
    assert math.isclose(tools.loan_payment(120_000, 6, 120)["monthly_payment"], 1332.25)
