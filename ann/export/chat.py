"""The `prompts` export: each agent's chat request, framed by ann's own adapter, as JSON.

A caller with any OpenAI-compatible client reproduces ann's calls from it: the fixed messages
(system text, demos as user/assistant turns) are copied as they are, and in the last user message
each ``{{field}}`` placeholder is replaced, in one pass, by that input's text. Nothing here frames
a prompt itself: the messages come from ``AnnAdapter.format`` with placeholder values, so the
export cannot drift from what ann sends.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ann.adapter import AnnAdapter, output_choices, output_schema, wants_json
from ann.graph import Graph
from ann.layers.layer import Layer
from ann.lm import json_response_format
from ann.spec import Spec
from ann.tools.loop import first_turn, loop_schema

PROMPTS_FORMAT = "ann.prompts"
PROMPTS_VERSION = 1
_PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
USAGE = (
    "For each call: send `messages` with the last message's {{field}} placeholders replaced, in one pass, by the "
    "input values as text; add `request` and, when `reply.schema` is set and the backend can constrain output, "
    "the matching `response_format` (`openai` for OpenAI-style json_schema, `llamacpp` for llama.cpp; ann sends "
    "none to hosted models). A text reply is the output field itself (stripped); a JSON reply is an object with "
    "one value per output field: a string, or the type `reply.schema` declares for it."
)


@dataclass
class Reply:
    """How the agent answers: plain text (one output) or a JSON object (several, choices or a type)."""

    format: str
    outputs: list[str]
    schema: dict[str, Any] | None
    choices: dict[str, list[str]]


@dataclass
class AgentCall:
    """One agent's answer call in its layer, as chat messages with input placeholders."""

    layer: str
    agent: str
    team_type: str
    inputs: list[str]
    messages: list[dict[str, str]]
    reply: Reply
    response_format: dict[str, Any]
    request: dict[str, Any]
    samples: int
    example: dict[str, Any] = field(default_factory=dict)


def placeholder(name: str) -> str:
    """How an input field appears in an exported message template."""
    return "{{" + name + "}}"


def fill(template: str, values: dict[str, Any]) -> str:
    """Replace each ``{{field}}`` in one pass, so a value that holds a placeholder stays as it is.

    Raises:
        KeyError: A placeholder has no value.
    """
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), template)


def fill_messages(messages: list[dict[str, str]], values: dict[str, Any]) -> list[dict[str, str]]:
    """The template's messages for these input values (only the last message holds placeholders)."""
    return [*messages[:-1], {**messages[-1], "content": fill(messages[-1]["content"], values)}]


def example_values(layer: Layer, demos: list[dict[str, Any]]) -> dict[str, str]:
    """Sample inputs for the rendered example: the first demo's, else a label per field."""
    first = demos[0] if demos else {}
    return {name: str(first.get(name, f"<{name}>")) for name in layer.inputs}


def agent_calls(graph: Graph, spec: Spec) -> list[AgentCall]:
    """Every layer member's answer call, in graph order.

    Team types with further calls (a judge, debate rounds, a refiner) make them after these;
    those are not part of this export.
    """
    calls = []
    for layer_name in graph.order:
        layer = graph.layers[layer_name]
        for agent in layer.agents:
            signature = agent.signature(layer.inputs, layer.outputs, graph.fields, graph.choices, graph.types)
            demos = agent.demo_examples()
            slots = {name: placeholder(name) for name in layer.inputs}
            if agent.tools:  # every turn of a tool loop is a JSON action
                messages = first_turn(agent, slots, inputs=layer.inputs, outputs=layer.outputs,
                                      descriptions=graph.fields)  # fmt: skip
                schema, reply_format = loop_schema(agent, layer.outputs), "tool_loop"
            else:
                messages = AnnAdapter().format(signature, demos, slots)
                schema, reply_format = output_schema(signature), "json" if wants_json(signature) else "text"
            # A tool loop's turns are sent at the model's temperature, like ann's own calls.
            temperature = spec.model.temperature if layer.temperature is None or agent.tools else layer.temperature
            values = example_values(layer, demos)
            calls.append(
                AgentCall(
                    layer=layer.name,
                    agent=agent.name,
                    team_type=layer.aggregator.value,
                    inputs=list(layer.inputs),
                    messages=messages,
                    reply=Reply(
                        format=reply_format,
                        outputs=list(layer.outputs),
                        schema=schema,
                        choices=output_choices(signature),
                    ),
                    response_format={
                        style: json_response_format(schema, style) if schema else None
                        for style in ("openai", "llamacpp")
                    },
                    request={"temperature": temperature, "max_tokens": spec.model.max_tokens, "seed": 0},
                    samples=layer.samples,
                    example={"inputs": values, "messages": fill_messages(messages, values)},
                )
            )
    return calls


def prompts_document(graph: Graph, spec: Spec) -> dict[str, Any]:
    """The whole `prompts` export as a JSON-ready dict."""
    return {
        "format": PROMPTS_FORMAT,
        "version": PROMPTS_VERSION,
        "graph": graph.name,
        "inputs": graph.inputs,
        "outputs": graph.outputs,
        "model": spec.model.name,
        "usage": USAGE,
        "notes": [
            "`request.seed` is the seed of the first sample; ann sends seed + i for sample i when the provider takes "
            "a seed, and samples after the first at temperature max(temperature, 0.7).",
            "A call whose `reply.format` is `tool_loop` is the first turn of a tool loop: each reply is a JSON "
            "action; after a tool call ann appends the reply and an observation turn and asks again.",
            "Team types that combine answers with further calls (judge, synthesize, debate, refine, critique, "
            "best_of_n, route) make those calls after these; they are not exported here.",
        ],
        "calls": [asdict(call) for call in agent_calls(graph, spec)],
    }


def export_prompts(graph: Graph, spec: Spec) -> str:
    """The `prompts` export as indented JSON text."""
    return json.dumps(prompts_document(graph, spec), indent=2, ensure_ascii=False) + "\n"
