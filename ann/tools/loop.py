"""The tool-calling loop: an agent alternates tool calls and observations until it answers.

Each turn is one schema-constrained JSON reply: an action (a tool's name, or ``final_answer``)
with arguments, or the answer's fields. Tools run for real; their results or errors come back
as observations. The loop stops at the answer; after ``max_steps`` tool calls, or when the model
repeats a call that already succeeded, one last turn may only answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ann.calls import traced_call
from ann.errors import ParseError
from ann.lm import ModelClient, json_response_format
from ann.prompts import ANSWER_NOW, OBSERVATION, REPEATED_FAILURE, TOOL_FIELD, TOOL_LINE, TOOLS_SECTION
from ann.render import render
from ann.replies import field_label, parse_json_object
from ann.trace import Trace

if TYPE_CHECKING:
    from ann.agent import Agent

FINAL = "final_answer"


@dataclass
class ToolCallRecord:
    """One tool call inside an agent's turn: what was asked, what came back, how long it took."""

    layer: str
    agent: str
    tool: str
    args: dict[str, Any]
    ok: bool
    output: str
    latency_s: float


def loop_schema(agent: Agent, outputs: list[str]) -> dict[str, Any]:
    """One branch per action, so a constrained model can only call a tool with that tool's
    arguments, or answer with every output field."""
    calls = [
        {
            "type": "object",
            "properties": {"action": {"const": tool.name}, "arguments": tool.schema()},
            "required": ["action", "arguments"],
        }
        for tool in agent.tools
    ]
    answer = {
        "type": "object",
        "properties": {"action": {"const": FINAL}, **{name: {"type": "string"} for name in outputs}},
        "required": ["action", *outputs],
    }
    return {"anyOf": [*calls, answer]}


def parse_turn(text: str, agent: Agent, outputs: list[str]) -> dict[str, Any]:
    """One turn's JSON, checked: a known action, and every output field when it is the answer.

    Raises:
        ParseError: Not a JSON object, an unknown action, or an answer missing fields.
    """
    data = parse_json_object(text, expected="with an action")
    names = [tool.name for tool in agent.tools]
    if data.get("action") not in [*names, FINAL]:
        raise ParseError(f"unknown action {data.get('action')!r}; use one of {[*names, FINAL]}", raw=text)
    if data["action"] == FINAL and (missing := [name for name in outputs if name not in data]):
        raise ParseError(f"the final answer lacks {missing}", raw=text)
    return data


def first_turn(
    agent: Agent,
    values: dict[str, Any],
    *,
    inputs: list[str],
    outputs: list[str],
    descriptions: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """The messages of a tool loop's first turn: the agent's framing with its tools listed."""
    from ann.adapter import AnnAdapter  # it imports dspy (seconds): only when a model is called

    signature = agent.signature(inputs, outputs, descriptions)
    messages = AnnAdapter(json_reply=True).format(signature, agent.demo_examples(), values)
    tools = "\n".join(render(TOOL_LINE, description=tool.describe()) for tool in agent.tools)
    fields = ", ".join(render(TOOL_FIELD, name=name) for name in outputs)
    messages[0] = {
        "role": "system",
        "content": messages[0]["content"] + render(TOOLS_SECTION, tools=tools, fields=fields),
    }
    return messages


async def run_tools(
    client: ModelClient,
    trace: Trace,
    agent: Agent,
    values: dict[str, Any],
    *,
    inputs: list[str],
    outputs: list[str],
    descriptions: dict[str, str] | None = None,
    layer: str = "",
    max_steps: int = 5,
) -> dict[str, Any]:
    """Run ``agent`` with its tools until it gives the output fields.

    Raises:
        ParseError: A turn could not be parsed, or no answer came within ``max_steps`` tool calls.
    """
    messages = first_turn(agent, values, inputs=inputs, outputs=outputs, descriptions=descriptions)
    fields = ", ".join(render(TOOL_FIELD, name=name) for name in outputs)
    schema = loop_schema(agent, outputs)
    any_action = json_response_format(schema, client.config.schema_style)
    answer_only = json_response_format(schema["anyOf"][-1], client.config.schema_style)
    by_name = {tool.name: tool for tool in agent.tools}
    failed: set[str] = set()
    succeeded: set[str] = set()
    for step in range(max_steps):
        turn = await traced_call(
            client, trace, layer=layer, agent=agent.name, purpose=f"tool turn {step + 1}",
            inputs={name: values.get(name) for name in inputs}, messages=list(messages),
            parse=lambda text: parse_turn(text, agent, outputs),
            response_format=any_action,
        )  # fmt: skip
        if turn["action"] == FINAL:
            return {name: str(turn[name]) for name in outputs}
        tool = by_name[turn["action"]]
        arguments = turn.get("arguments") if isinstance(turn.get("arguments"), dict) else {}
        call = json.dumps([tool.name, arguments], sort_keys=True)
        if call in succeeded:
            break  # the same successful call again: its result is already here, so it is time to answer
        result = await tool.call(arguments)
        repeated = not result.ok and call in failed
        (succeeded if result.ok else failed).add(call)
        trace.tool_calls.append(ToolCallRecord(layer, agent.name, tool.name, arguments, result.ok, result.output,
                                               result.latency_s))  # fmt: skip
        observation = render(OBSERVATION, tool=tool.name, result=result.observation())
        messages += [
            {"role": "assistant", "content": json.dumps(turn, ensure_ascii=False)},
            {"role": "user", "content": observation + (REPEATED_FAILURE if repeated else "")},
        ]
    messages.append({"role": "user", "content": render(ANSWER_NOW, fields=fields)})
    return await _final_answer(client, trace, agent, messages, values, inputs, outputs, layer, max_steps, answer_only)


async def _final_answer(
    client: ModelClient, trace: Trace, agent: Agent, messages: list[dict[str, str]], values: dict[str, Any],
    inputs: list[str], outputs: list[str], layer: str, max_steps: int, response_format: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """One last turn that may only answer (DSPy's ReAct ends with such an extract step): small
    models often call tools on and on after the result they needed is already in front of them."""
    labels = ", ".join(field_label(name) for name in outputs)

    def parse(text: str) -> dict[str, Any]:
        turn = parse_turn(text, agent, outputs)
        if turn["action"] != FINAL:
            raise ParseError(f"agent '{agent.name}' gave no {labels} within {max_steps} tool calls", raw=text)
        return turn

    turn = await traced_call(
        client, trace, layer=layer, agent=agent.name, purpose="final answer",
        inputs={name: values.get(name) for name in inputs},
        messages=messages, parse=parse, response_format=response_format,
    )  # fmt: skip
    return {name: str(turn[name]) for name in outputs}
