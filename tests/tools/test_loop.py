"""The tool-calling loop: real calls with the model's arguments, errors as observations, a step limit."""

import json

import pytest

from ann import Agent, Graph, Layer, RunError
from ann.tools import Tool


def to_metres(value: float, unit: str = "m") -> float:
    """Convert a length."""
    return {"m": 1.0, "ft": 0.3048}[unit] * value


def graph(client, max_calls=None):
    agent = Agent("a", role="a helper", tools=[Tool(to_metres)])
    return Graph([Layer("solve", [agent], inputs=["question"], outputs=["answer"])], inputs=["question"],
                 outputs=["answer"], lm=client)  # fmt: skip


def test_the_agent_calls_the_tool_for_real_and_answers_from_the_observation(scripted):
    def reply(messages):
        last = messages[-1]["content"]
        if last.startswith("Observation from to_metres: "):
            return json.dumps({"action": "final_answer", "answer": last.split(": ")[1]})
        return json.dumps({"action": "to_metres", "arguments": {"value": 10, "unit": "ft"}})

    client = scripted(reply, schema_style="llamacpp")
    result = graph(client)(question="How many metres is 10 ft?")
    assert result.outputs["answer"].startswith("3.048")
    assert [(c.tool, c.args, c.ok) for c in result.trace.tool_calls] == [
        ("to_metres", {"value": 10, "unit": "ft"}, True)
    ]
    system = client.dspy_lm.requests[0]["messages"][0]["content"]
    assert (
        '- to_metres({"value": {"type": "number"}, "unit": {"type": "string", "default": "m"}}): Convert a length.'
        in system
    )
    schema = client.dspy_lm.requests[0]["response_format"]["schema"]
    assert [branch["properties"]["action"]["const"] for branch in schema["anyOf"]] == ["to_metres", "final_answer"]
    assert schema["anyOf"][0]["properties"]["arguments"]["required"] == ["value"]


def test_a_failing_tool_call_comes_back_as_an_observation(scripted):
    seen = []

    def reply(messages):
        last = messages[-1]["content"]
        if last.startswith("Observation"):
            seen.append(last)
            return json.dumps({"action": "final_answer", "answer": "unknown unit"})
        return json.dumps({"action": "to_metres", "arguments": {"value": 1, "unit": "parsec"}})

    result = graph(scripted(reply))(question="1 parsec?")
    assert seen == ["Observation from to_metres: error: KeyError: 'parsec'"]
    assert result.outputs["answer"] == "unknown unit" and result.trace.tool_calls[0].ok is False


def test_the_step_limit_ends_an_endless_loop_with_a_clear_error(scripted):
    client = scripted(lambda m: json.dumps({"action": "to_metres", "arguments": {"value": 1}}))
    with pytest.raises(RunError, match="agent 'a' gave no Answer within 5 tool calls"):
        graph(client)(question="?")


def test_tool_docs_are_params_of_the_graph(scripted):
    names = dict(graph(scripted(["{}"])).named_parameters())
    assert names["solve.a.tools.to_metres.doc"].value == "Convert a length."
    assert "solve.a.tools.to_metres.args.unit" in names


def test_repeating_a_failed_call_gets_a_nudge_to_change_the_arguments(scripted):
    client = scripted(lambda m: json.dumps({"action": "to_metres", "arguments": {"value": 1, "unit": "parsec"}}))
    with pytest.raises(RunError):
        graph(client)(question="?")
    observations = [m["content"] for m in client.dspy_lm.requests[-1]["messages"] if m["content"].startswith("Obs")]
    assert "exact call before" not in observations[0]
    assert all("You made this exact call before and it failed" in text for text in observations[1:])


def test_repeating_a_successful_call_moves_on_to_a_forced_final_answer(scripted):
    def reply(messages):
        if messages[-1]["content"].startswith("Now give your final answer"):
            return json.dumps({"action": "final_answer", "answer": "3.048"})
        return json.dumps({"action": "to_metres", "arguments": {"value": 10, "unit": "ft"}})

    client = scripted(reply, schema_style="llamacpp")
    result = graph(client)(question="10 ft?")
    assert result.outputs["answer"] == "3.048"
    assert len(result.trace.tool_calls) == 1  # the repeat is not run again
    last = client.dspy_lm.requests[-1]
    assert last["response_format"]["schema"]["properties"]["action"] == {"const": "final_answer"}
    assert [c.purpose for c in result.trace.calls] == ["tool turn 1", "tool turn 2", "final answer"]
