"""Structural learning: typed, validated edits of a graph, proposed from the loss's critiques.

An edit is a pydantic model (swap a layer's aggregator, add an agent, remove an agent). It is
applied to a copy of the graph, which must validate and stay within the bounds (agents per layer,
model calls per example); the training loop keeps it only if the validation score rises.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ann.adapter import parse_reply
from ann.build import graph_from_spec
from ann.bundle import spec_from_graph
from ann.calls import traced_call
from ann.errors import ConfigError, GraphError, ParseError
from ann.graph import Graph
from ann.layers.registry import AGGREGATORS
from ann.lm import ModelClient, json_response_format
from ann.optimizers.describe import clip, describe_graph, describe_team
from ann.optimizers.prompts import ARCHITECT_SYSTEM, ARCHITECT_USER, PLANNER_TEAM_TYPE, TEAM_TYPE_SUMMARIES
from ann.render import render
from ann.spec import AgentSpec
from ann.trace import Trace

# Model calls one layer makes per example besides its agents' answers, by team type.
_EXTRA_CALLS = {"judge": 1, "synthesize": 1, "best_of_n": 1, "refine": 4, "critique": 2}


class _Edit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layer: str
    reason: str = ""


class SwapAggregator(_Edit):
    op: Literal["swap_aggregator"] = "swap_aggregator"
    aggregator: str


class AddAgent(_Edit):
    op: Literal["add_agent"] = "add_agent"
    name: str
    role: str
    instructions: str = ""


class RemoveAgent(_Edit):
    op: Literal["remove_agent"] = "remove_agent"
    agent: str


Edit = Annotated[SwapAggregator | AddAgent | RemoveAgent, Field(discriminator="op")]


class _Wrapper(BaseModel):
    edit: Edit


def describe_edit(edit: SwapAggregator | AddAgent | RemoveAgent) -> str:
    if isinstance(edit, SwapAggregator):
        return f"layer '{edit.layer}': aggregator -> {edit.aggregator}"
    if isinstance(edit, AddAgent):
        return f"layer '{edit.layer}': add agent '{edit.name}' ({edit.role})"
    return f"layer '{edit.layer}': remove agent '{edit.agent}'"


def calls_per_example(graph: Graph) -> int:
    """Model calls one example costs at most (debate rounds and refine rounds included)."""
    total = 0
    for layer in graph.layers.values():
        answers = len(layer.agents) * layer.samples
        kind = layer.aggregator.value
        if kind == "debate":
            answers *= 1 + int(layer.options.get("rounds", 1))
        total += answers + _EXTRA_CALLS.get(kind, 0)
    return total


def apply_edit(
    graph: Graph, edit: SwapAggregator | AddAgent | RemoveAgent, *, max_agents: int, max_calls: int
) -> Graph:
    """A new graph with ``edit`` applied; every param that still exists keeps its value and history.

    Raises:
        GraphError: The edit names an unknown layer or agent, breaks validation, or exceeds a bound.
    """
    spec = spec_from_graph(graph)
    layers = {layer.name: layer for layer in (spec.graph.layers if spec.graph else [])}
    layer = layers.get(edit.layer)
    if layer is None:
        raise GraphError(f"edit names no layer '{edit.layer}' (layers: {', '.join(layers)})")
    if isinstance(edit, SwapAggregator):
        if edit.aggregator == layer.aggregator:
            raise GraphError(f"layer '{edit.layer}' already uses '{edit.aggregator}'")
        layer.aggregator = edit.aggregator
        layer.options = {}
    elif isinstance(edit, AddAgent):
        if len(layer.agents) >= max_agents:
            raise GraphError(f"layer '{edit.layer}' already has {len(layer.agents)} agents (max {max_agents})")
        layer.agents.append(AgentSpec(name=edit.name, role=edit.role, instructions=edit.instructions))
        if layer.aggregator == "single":
            layer.aggregator = "vote"
    else:
        names = [agent.name for agent in layer.agents]
        if edit.agent not in names:
            raise GraphError(f"layer '{edit.layer}' has no agent '{edit.agent}' (agents: {', '.join(names)})")
        layer.agents = [agent for agent in layer.agents if agent.name != edit.agent]
    try:
        edited = graph_from_spec(spec, lm=graph.lm, source="edit")
    except ConfigError as exc:
        raise GraphError(str(exc).removeprefix("edit: ")) from exc
    cost = calls_per_example(edited)
    if cost > max_calls:
        raise GraphError(f"the edited graph costs {cost} calls per example (max {max_calls})")
    old = dict(graph.named_parameters())
    for name, param in edited.named_parameters():
        if name in old and param.kind != "choice":  # the edit itself decides choices
            param.value, param.trainable, param.history = old[name].value, old[name].trainable, list(old[name].history)
    return edited


def edit_schema(graph: Graph) -> dict:
    """The JSON Schema of an edit of this graph: layer names and team types are enumerated."""
    schema = _Wrapper.model_json_schema()
    layers = sorted(graph.layers)
    for definition in schema.get("$defs", {}).values():
        props = definition.get("properties", {})
        if "layer" in props:
            props["layer"] = {"type": "string", "enum": layers}
        if "aggregator" in props:
            props["aggregator"] = {"type": "string", "enum": sorted(AGGREGATORS)}
    return schema


def parse_edit(text: str) -> SwapAggregator | AddAgent | RemoveAgent:
    """An edit from the architect's reply.

    Raises:
        ParseError: Not JSON, or not one of the edit types.
    """
    data = parse_reply(["edit"], text, json_reply=True)
    try:
        return _Wrapper.model_validate({"edit": json.loads(data["edit"])}).edit
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ParseError(f"not a valid edit: {str(exc).splitlines()[0][:200]}", raw=text) from exc


async def propose_edit(
    graph: Graph, critiques: Sequence[str], lm: ModelClient, trace: Trace, *, max_agents: int, sample: int = 0
) -> SwapAggregator | AddAgent | RemoveAgent | None:
    """One structural edit proposed from the minibatch's critiques (None if the reply is unusable)."""
    team_types = "\n".join(render(PLANNER_TEAM_TYPE, name=n, summary=s) for n, s in TEAM_TYPE_SUMMARIES.items())
    teams = "\n".join(f"{name}:\n{describe_team(graph.layers[name])}" for name in graph.order)
    messages = [
        {"role": "system", "content": render(ARCHITECT_SYSTEM, max_agents=max_agents, team_types=team_types)},
        {"role": "user", "content": render(ARCHITECT_USER, task=graph.task.value or graph.name,
                                           system=describe_graph(graph), teams=clip(teams, 1500),
                                           critiques=clip("\n".join(f"- {c}" for c in critiques[:4]), 1500))},
    ]  # fmt: skip
    response_format = json_response_format(edit_schema(graph), lm.config.schema_style)
    try:
        return await traced_call(
            lm, trace, layer="structure", agent="architect", purpose="propose edit", inputs={},
            messages=messages, parse=parse_edit, sample=sample, response_format=response_format,
        )  # fmt: skip
    except ParseError:
        return None
