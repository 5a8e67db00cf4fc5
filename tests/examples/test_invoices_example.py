"""The invoices example: its data is what make_data.py generates, the splits are as large as stated
and share no message or value, and the spec loads as a one-agent graph with a JSON reply."""

from __future__ import annotations

import json
import re
from pathlib import Path

from example_module import load_module

import ann
from ann.adapter import wants_json
from ann.datasets import load_dataset

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "invoices"
SPLITS = ("train", "val", "test")


make_data = load_module("ann_example_invoices_make_data", EXAMPLE / "make_data.py")


def rows(split: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (EXAMPLE / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


def template_of(message: str) -> str:
    """The one body template a message was written from."""
    found = []
    for body in make_data.MESSAGES:
        pattern = re.sub(r"\\\{\w+\\\}", ".+", re.escape(body))
        if re.search(pattern, message):
            found.append(body)
    assert len(found) == 1, (message, found)
    return found[0]


def test_committed_files_are_what_make_data_generates(tmp_path):
    for attempt in ("first", "second"):
        make_data.write(tmp_path / attempt)
    for split in SPLITS:
        committed = (EXAMPLE / f"{split}.jsonl").read_bytes()
        assert (tmp_path / "first" / f"{split}.jsonl").read_bytes() == committed, f"{split}.jsonl is stale"
        assert (tmp_path / "second" / f"{split}.jsonl").read_bytes() == committed


def test_split_sizes():
    assert [len(rows(split)) for split in SPLITS] == [24, 50, 100]


def test_splits_share_no_template_message_or_value():
    seen: dict[str, set[str]] = {}
    for split in SPLITS:
        values = set()
        for row in rows(split):
            values |= {row["message"], row["invoice"], row["amount"], template_of(row["message"])}
        for other, other_values in seen.items():
            assert not values & other_values, f"{split} and {other} share {sorted(values & other_values)[:3]}"
        seen[split] = values


def test_each_message_names_its_invoice_once_and_its_amount():
    for split in SPLITS:
        for row in rows(split):
            assert re.fullmatch(r"INV-\d{5}", row["invoice"]), row
            digits = row["invoice"].removeprefix("INV-")
            assert re.findall(rf"(?<!\d){digits}(?!\d)", row["message"]) == [digits], row
            assert row["amount"] in row["message"], row


def test_the_spec_loads_as_one_agent_with_a_json_reply():
    spec = ann.load_spec(EXAMPLE / "spec.yaml")
    graph = ann.graph_from_spec(spec)
    assert spec.metric is not None and spec.metric.name == "exact_match"
    assert spec.metric.options == {"field": "invoice"}
    (layer,) = spec.graph.layers
    assert len(layer.agents) == 1 and layer.outputs == ["invoice", "amount"]
    (agent,) = layer.agents
    # Two output fields: the reply is a JSON object, grammar-constrained on llama.cpp.
    read = graph.layers["read"]
    assert wants_json(read.agents[0].signature(read.inputs, read.outputs))
    assert "INV-" not in agent.instructions  # the form's convention is for training to find
    examples = load_dataset(EXAMPLE / "val.jsonl", inputs=spec.inputs)
    assert set(examples[0].expected) == {"invoice", "amount"}
