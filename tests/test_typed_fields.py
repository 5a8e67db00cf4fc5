"""Typed fields: a spec's `type:`/`pattern:` constrains the request, checks the reply, and survives a bundle."""

from __future__ import annotations

import json
from typing import Any

import dspy
import pytest

from ann.build import graph_from_spec
from ann.bundle import spec_from_graph
from ann.datasets.example import Example
from ann.datasets.numeric_metric import NumericMatch
from ann.errors import ParseError, RunError
from ann.field_types import value_problem
from ann.graph import Graph
from ann.interop import export_dspy
from ann.lm import ModelClient, ModelConfig
from ann.replies import parse_reply
from ann.spec import FieldSpec, Spec, describe_validation_error
from ann.testing import OpenAIServer
from ann.testing.scripted_lm import ScriptedLM, scripted_client


def _spec(fields: dict[str, Any], outputs: list[str] | None = None) -> Spec:
    outputs = outputs or ["amount"]
    return Spec.model_validate({
        "name": "bills", "inputs": ["message"], "outputs": outputs, "fields": fields,
        "graph": {"layers": [{"name": "read", "inputs": ["message"], "outputs": outputs,
                              "agents": [{"name": "clerk", "instructions": "Read the bill."}]}]},
    })  # fmt: skip


def _graph(fields: dict[str, Any], outputs: list[str] | None = None) -> Graph:
    return graph_from_spec(_spec(fields, outputs))


def _spec_error(fields: dict[str, Any]) -> str:
    with pytest.raises(ValueError) as info:
        _spec(fields)
    return describe_validation_error(info.value)  # type: ignore[arg-type]


def test_a_typed_single_output_is_a_json_reply_whose_schema_reaches_the_server() -> None:
    graph = _graph({"message": "a customer's message", "amount": {"type": "number", "description": "the amount"}})
    with OpenAIServer(reply=lambda request: '{"amount": 250.42}') as server:
        client = ModelClient(ModelConfig("openai/test", api_base=server.base_url, api_key="k", num_retries=0,
                                         schema_style="llamacpp"), cache=None)  # fmt: skip
        result = graph(lm=client, message="Bill 7 was EUR 250.42")
        request = server.requests[-1]
    assert request["response_format"]["schema"]["properties"] == {"amount": {"type": "number"}}
    assert '- "amount": the amount (a number)' in request["messages"][0]["content"]
    assert result.error is None
    assert result.outputs == {"amount": 250.42}
    assert NumericMatch("amount")(Example({"message": "-"}, {"amount": "250.42"}), result.outputs).score == 1.0


def test_a_plain_single_output_is_still_plain_text() -> None:
    client = scripted_client(["EUR 250.42"])
    result = _graph({"amount": "the amount"})(lm=client, message="m")
    assert result.outputs == {"amount": "EUR 250.42"}
    assert "response_format" not in client.dspy_lm.requests[0]


def test_a_reply_that_is_not_a_number_is_a_failed_call_naming_the_field() -> None:
    client = scripted_client(['{"amount": "about ten euros"}'])
    with pytest.raises(RunError, match="no usable answer") as info:
        _graph({"amount": {"type": "number"}})(lm=client, message="m")
    assert info.value.trace.calls[0].error == "'amount' must be a number, got 'about ten euros'"


@pytest.mark.parametrize(
    ("field", "reply", "value"),
    [
        ({"type": "number"}, "42", 42),
        ({"type": "number"}, '"1e3"', 1000.0),  # a model with no grammar may quote it
        ({"type": "integer"}, "7.0", 7),
        ({"type": "boolean"}, '"true"', True),
        ({"type": "date"}, '"2024-02-29"', "2024-02-29"),
        ({"type": "list", "items": "integer"}, "[1, 2]", [1, 2]),
        ({"type": "list"}, '["a", 3]', ["a", "3"]),
        ({"pattern": r"INV-\d{5}"}, '"INV-40213"', "INV-40213"),
        ({"choices": ["bug", "question"]}, '" Bug "', "bug"),
    ],
)
def test_a_value_that_fits_its_type_parses_to_a_json_value(field: dict[str, Any], reply: str, value: Any) -> None:
    client = scripted_client([f'{{"x": {reply}}}'])
    result = _graph({"x": field}, outputs=["x"])(lm=client, message="m")
    assert result.outputs == {"x": value}
    assert type(result.outputs["x"]) is type(value)
    assert json.loads(json.dumps(result.outputs)) == result.outputs


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ({"type": "number"}, True, "must be a number, got true"),
        ({"type": "integer"}, 2.5, "must be an integer, got 2.5"),
        ({"type": "boolean"}, "yes", "must be true or false, got 'yes'"),
        ({"type": "date"}, "2024-02-30", "must be a date as YYYY-MM-DD, got '2024-02-30'"),
        ({"type": "date"}, "29 Feb 2024", "must be a date as YYYY-MM-DD, got '29 Feb 2024'"),
        ({"type": "list", "items": "number"}, [1, "two"], "item 1 must be a number, got 'two'"),
        ({"pattern": r"INV-\d{5}"}, "INV-4021", r"must match the pattern '^(INV-\\d{5})$', got 'INV-4021'"),
        ({"choices": ["bug", "question"]}, "refund", "must be one of ['bug', 'question'], got 'refund'"),
    ],
)
def test_value_problem_says_what_is_wrong(field: dict[str, Any], value: Any, problem: str) -> None:
    assert value_problem(value, FieldSpec(**field)) == problem


def test_value_problem_is_none_for_a_value_that_fits() -> None:
    assert value_problem(3, FieldSpec(type="integer")) is None
    assert value_problem("anything", FieldSpec()) is None


def test_parse_reply_checks_against_the_schema_and_keeps_the_raw_reply() -> None:
    schema = {"properties": {"when": {"type": "string", "format": "date"}}}
    assert parse_reply(["when"], '{"when": "2024-01-05"}', json_reply=True, schema=schema) == {"when": "2024-01-05"}
    with pytest.raises(ParseError, match="'when' must be a date") as info:
        parse_reply(["when"], '{"when": "tomorrow"}', json_reply=True, schema=schema)
    assert info.value.raw == '{"when": "tomorrow"}'


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"type": "text", "pattern": "INV-(\\d"}, "fields.invoice: Value error, `pattern: INV-(\\d` is not a valid"),
        ({"type": "number", "items": "date"}, "fields.invoice: Value error, `items: date` is only for `type: list`"),
        ({"type": "number", "pattern": "\\d+"}, "fields.invoice: Value error, `pattern:` is only for text"),
        ({"type": "integer", "choices": ["1", "2"]}, "fields.invoice: Value error, `choices:` are for plain text"),
        ({"type": "money"}, "fields.invoice.type: Input should be 'text', 'number'"),
    ],
)
def test_a_bad_field_type_is_a_spec_error_naming_the_field(field: dict[str, Any], message: str) -> None:
    assert _spec_error({"invoice": field}).startswith(message)


def test_the_shorthand_description_is_still_a_text_field() -> None:
    spec = _spec({"amount": "the amount"})
    assert spec.fields["amount"] == FieldSpec(description="the amount")
    assert spec.types() == {}


def test_types_survive_a_bundle_round_trip() -> None:
    graph = _graph({"amount": {"type": "list", "items": "date", "description": "due dates"}})
    assert spec_from_graph(graph).fields["amount"] == FieldSpec(description="due dates", type="list", items="date")


def test_the_dspy_export_declares_the_type_and_parses_as_ann_does() -> None:
    graph = _graph({"amount": {"type": "number"}, "invoice": {"pattern": r"INV-\d{5}"}}, outputs=["invoice", "amount"])
    text = export_dspy(graph)
    assert "'amount': (float, dspy.OutputField(" in text
    namespace: dict[str, Any] = {}
    exec(compile(text, "exported.py", "exec"), namespace)  # noqa: S102 - our own generated file
    with dspy.context(lm=ScriptedLM(['{"invoice": "INV-40213", "amount": "12.5"}'])):
        outputs = namespace["Program"]()(message="m")
    assert (outputs.invoice, outputs.amount) == ("INV-40213", 12.5)
