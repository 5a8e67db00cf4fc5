"""The backward pass: the textual chain rule over one run's trace.

Layers are visited in reverse topological order. Each layer that received feedback on its
outputs asks a debugger model how each of its agents should change (a local gradient, added to
the agents' role and instructions params; the docs of the tools they called get their own) and
what its inputs should have contained (passed to the layers that produced them). A debugger
that cannot answer, or that says no agent should change, passes the feedback on unchanged, so
gradients always reach every upstream layer.
"""

from __future__ import annotations

import json
import re

from ann.agent import Agent
from ann.calls import ask_agent
from ann.errors import LMError, ParseError
from ann.graph import INPUT, Graph
from ann.layers.layer import Layer
from ann.lm import ModelClient
from ann.optimizers.describe import clip, describe_candidates, describe_fields, describe_layer, describe_team
from ann.optimizers.prompts import (
    DEBUGGER_AGENT_OUTPUT,
    DEBUGGER_INSTRUCTIONS,
    DEBUGGER_ROLE,
    DEBUGGER_TEXT_OUTPUT,
    DEBUGGER_TOOL_OUTPUT,
    DEBUGGER_UPSTREAM_CLAUSE,
    DEBUGGER_UPSTREAM_OUTPUT,
    TOOL_CALL_LINE,
)
from ann.params import Param
from ann.render import render
from ann.tools.loop import ToolCallRecord
from ann.trace import LayerRecord, Trace

DEBUGGER_INPUTS = ["task", "layer", "team", "layer_inputs", "candidates", "layer_output", "feedback"]
UPSTREAM = "upstream"
_NOTHING = re.compile(r"^\W*(nothing|none|n/?a|no change\w*)\W*$", re.IGNORECASE)


def _says_nothing(text: str) -> bool:
    return not text.strip() or bool(_NOTHING.match(text.strip()))


def _upstream_layers(graph: Graph, layer: Layer) -> list[str]:
    return [source for source in graph.dag.predecessors(layer.name) if source != INPUT]


def _debugger(has_upstream: bool) -> Agent:
    clause = DEBUGGER_UPSTREAM_CLAUSE if has_upstream else ""
    return Agent("debugger", role=DEBUGGER_ROLE, instructions=render(DEBUGGER_INSTRUCTIONS, upstream_clause=clause))


async def _layer_gradients(
    graph: Graph, layer: Layer, record: LayerRecord, calls: list[ToolCallRecord], feedback: str, lm: ModelClient,
    trace: Trace,
) -> tuple[dict[str, str], str]:  # fmt: skip
    """Per-agent feedback and feedback on the layer's inputs (empty when none); gradients for the
    team type's texts and the agents' tool docs go straight into those params."""
    upstream = _upstream_layers(graph, layer)
    outputs = [f"agent_{agent.name}" for agent in layer.agents] + ([UPSTREAM] if upstream else [])
    descriptions = {f"agent_{a.name}": render(DEBUGGER_AGENT_OUTPUT, agent=a.name) for a in layer.agents}
    descriptions[UPSTREAM] = DEBUGGER_UPSTREAM_OUTPUT
    texts = _team_texts(layer)
    outputs += [f"text_{name}" for name in texts]
    descriptions.update(
        {f"text_{n}": render(DEBUGGER_TEXT_OUTPUT, description=p.description) for n, p in texts.items()}
    )
    tools = _tool_docs(layer)
    outputs += [f"tool_{name}" for name in tools]
    descriptions.update({f"tool_{name}": render(DEBUGGER_TOOL_OUTPUT, tool=name) for name in tools})
    inputs = DEBUGGER_INPUTS + (["tool_calls"] if tools else [])
    values = {
        "task": graph.task.value or graph.name,
        "layer": describe_layer(layer),
        "team": describe_team(layer),
        "layer_inputs": describe_fields(record.inputs),
        "candidates": describe_candidates(record.candidates),
        "layer_output": describe_fields(record.outputs) if record.error is None else f"(failed: {record.error})",
        "feedback": clip(feedback, 1200),
        "tool_calls": _describe_calls(calls),
    }
    try:
        reply = await ask_agent(
            lm, trace, _debugger(bool(upstream)), values, inputs=inputs, outputs=outputs,
            descriptions=descriptions, layer=f"backward:{layer.name}", purpose="gradient", json_reply=True,
        )  # fmt: skip
    except (ParseError, LMError):
        return {agent.name: feedback for agent in layer.agents}, feedback if upstream else ""
    per_agent = {agent.name: str(reply[f"agent_{agent.name}"]) for agent in layer.agents}
    if all(_says_nothing(text) for text in per_agent.values()):
        # The layer's output was wrong, so something must change: fall back to the feedback itself.
        per_agent = {agent.name: feedback for agent in layer.agents}
    for key, param in [*((f"text_{n}", p) for n, p in texts.items()), *((f"tool_{n}", p) for n, p in tools.items())]:
        if not _says_nothing(str(reply[key])):
            param.grads.append(str(reply[key]))
    return per_agent, str(reply.get(UPSTREAM, "")) if upstream else ""


def _team_texts(layer: Layer) -> dict[str, Param]:
    """The team type's trainable texts (a rubric, a constitution) the debugger may critique."""
    if layer.team_type is None:
        return {}
    return {n: p for n, p in layer.team_type.texts.items() if p.trainable and p.kind in ("instructions", "text")}


def _tool_docs(layer: Layer) -> dict[str, Param]:
    """The trainable docs of the tools the layer's agents may call, by tool name."""
    return {tool.name: tool.doc for agent in layer.agents for tool in agent.tools if tool.doc.trainable}


def _describe_calls(calls: list[ToolCallRecord]) -> str:
    lines = [
        render(TOOL_CALL_LINE, agent=c.agent, tool=c.tool, args=json.dumps(c.args),
               result=clip(c.output if c.ok else f"error: {c.output}", 200))
        for c in calls
    ]  # fmt: skip
    return clip("\n".join(lines), 1200) or "(no tool calls)"


async def backward(graph: Graph, run: Trace, critique: str, lm: ModelClient, trace: Trace) -> None:
    """Write local gradients for one failed run into the params of every layer the critique reaches.

    Args:
        graph: The graph whose params receive gradients.
        run: The failed run's trace.
        critique: The global gradient from the loss.
        lm: The optimizer's model.
        trace: Where the optimizer's own calls are recorded.
    """
    records = {record.layer: record for record in run.layers}
    producers = {name: layer.name for layer in graph.layers.values() for name in layer.outputs}
    feedback: dict[str, list[str]] = {producers[name]: [critique] for name in graph.outputs}
    for name in reversed(graph.order):
        layer = graph.layers[name]
        received = feedback.get(name)
        if not received or name not in records:
            continue
        calls = [call for call in run.tool_calls if call.layer == name]
        per_agent, upstream = await _layer_gradients(graph, layer, records[name], calls, "\n".join(received), lm, trace)
        for agent in layer.agents:
            text = per_agent.get(agent.name, "")
            if _says_nothing(text):
                continue
            for param in (agent.role, agent.instructions):
                if param.trainable:
                    param.grads.append(text)
        if _says_nothing(upstream):
            continue
        for field in layer.inputs:
            source = producers.get(field)
            if source is not None:
                note = f"(about its output '{field}') {upstream}"
                if note not in feedback.setdefault(source, []):
                    feedback[source].append(note)
