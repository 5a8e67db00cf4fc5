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

from ann.build import graph_with_layers
from ann.bundle import layer_specs
from ann.calls import traced_call
from ann.errors import ConfigError, GraphError, LMError, ParseError
from ann.graph import Graph
from ann.layers.registry import proposable_aggregators
from ann.lm import ModelClient, json_response_format
from ann.optimizers.describe import clip, describe_graph, describe_team
from ann.optimizers.prompts import ARCHITECT_SYSTEM, ARCHITECT_USER, PLANNER_TEAM_TYPE, TEAM_TYPE_SUMMARIES
from ann.render import render
from ann.replies import parse_reply
from ann.spec import AgentSpec, LayerSpec
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


class InsertLayer(_Edit):
    """A one-agent refinement layer after ``layer``: that layer's outputs become drafts
    (``<field>_draft``) which the new layer reads, with the same inputs, to write the outputs."""

    op: Literal["insert_layer"] = "insert_layer"
    name: str
    role: str
    instructions: str = ""


class DeleteLayer(_Edit):
    """Remove ``layer``; the layer that made its input (its ``<output>_draft``, or its only
    layer-made input) now writes its output."""

    op: Literal["delete_layer"] = "delete_layer"


AnyEdit = SwapAggregator | AddAgent | RemoveAgent | InsertLayer | DeleteLayer
Edit = Annotated[AnyEdit, Field(discriminator="op")]


class _Wrapper(BaseModel):
    edit: Edit


def describe_edit(edit: AnyEdit) -> str:
    if isinstance(edit, SwapAggregator):
        return f"layer '{edit.layer}': aggregator -> {edit.aggregator}"
    if isinstance(edit, AddAgent):
        return f"layer '{edit.layer}': add agent '{edit.name}' ({edit.role})"
    if isinstance(edit, InsertLayer):
        return f"insert layer '{edit.name}' after '{edit.layer}' ({edit.role})"
    if isinstance(edit, DeleteLayer):
        return f"delete layer '{edit.layer}'"
    return f"layer '{edit.layer}': remove agent '{edit.agent}'"


def calls_per_example(graph: Graph) -> int:
    """Model calls one example costs at most (debate rounds and refine rounds included)."""
    total = 0
    for layer in graph.layers.values():
        answers = len(layer.agents) * layer.samples
        kind = layer.aggregator.value
        if kind == "debate":
            answers *= 1 + int(layer.options.get("rounds", 1))
        if kind == "verify":  # each round revises every answer at worst; an llm verifier checks each one
            answers *= (1 + int(layer.options.get("rounds", 0))) * (2 if layer.options.get("verifier") == "llm" else 1)
        total += answers + _EXTRA_CALLS.get(kind, 0)
    return total


def apply_edit(graph: Graph, edit: AnyEdit, *, max_agents: int, max_calls: int) -> Graph:
    """A new graph with ``edit`` applied; every param that still exists keeps its value and history.

    Raises:
        GraphError: The edit names an unknown layer or agent, breaks validation, or exceeds a bound.
    """
    layers = layer_specs(graph)
    by_name = {layer.name: layer for layer in layers}
    layer = by_name.get(edit.layer)
    if layer is None:
        raise GraphError(f"edit names no layer '{edit.layer}' (layers: {', '.join(by_name)})")
    if isinstance(edit, SwapAggregator):
        if edit.aggregator == layer.aggregator:
            raise GraphError(f"layer '{edit.layer}' already uses '{edit.aggregator}'")
        layer.aggregator, layer.options = edit.aggregator, {}
    elif isinstance(edit, AddAgent):
        if len(layer.agents) >= max_agents:
            raise GraphError(f"layer '{edit.layer}' already has {len(layer.agents)} agents (max {max_agents})")
        layer.agents.append(AgentSpec(name=edit.name, role=edit.role, instructions=edit.instructions))
        if layer.aggregator == "single":
            layer.aggregator = "vote"
    elif isinstance(edit, RemoveAgent):
        names = [agent.name for agent in layer.agents]
        if edit.agent not in names:
            raise GraphError(f"layer '{edit.layer}' has no agent '{edit.agent}' (agents: {', '.join(names)})")
        layer.agents = [agent for agent in layer.agents if agent.name != edit.agent]
    elif isinstance(edit, InsertLayer):
        layers.insert(layers.index(layer) + 1, _refinement_after(layer, edit))
    else:
        layers = _without(layers, layer, set(graph.inputs))
    try:
        edited = graph_with_layers(graph, layers)
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


def _refinement_after(layer: LayerSpec, edit: InsertLayer) -> LayerSpec:
    outputs = list(layer.outputs)
    layer.outputs = [f"{name}_draft" for name in outputs]
    reviser = AgentSpec(name="reviser", role=edit.role, instructions=edit.instructions)
    inputs = [*dict.fromkeys([*layer.inputs, *layer.outputs])]
    return LayerSpec(name=edit.name, inputs=inputs, outputs=outputs, aggregator="single", agents=[reviser])


def _without(layers: list[LayerSpec], doomed: LayerSpec, graph_inputs: set[str]) -> list[LayerSpec]:
    made = [name for name in doomed.inputs if name not in graph_inputs]
    if len(doomed.outputs) == 1 and f"{doomed.outputs[0]}_draft" in made:
        made = [f"{doomed.outputs[0]}_draft"]  # a refinement layer: its draft takes over
    if len(doomed.outputs) != 1 or len(made) != 1:
        raise GraphError(
            f"layer '{doomed.name}' cannot be deleted: it needs exactly one output and one input made by a layer"
        )
    old, new = made[0], doomed.outputs[0]
    kept = [layer for layer in layers if layer is not doomed]
    for layer in kept:
        layer.inputs = [new if name == old else name for name in layer.inputs]
        layer.outputs = [new if name == old else name for name in layer.outputs]
    return kept


def edit_schema(graph: Graph) -> dict:
    """The JSON Schema of an edit of this graph: layer names and team types are enumerated."""
    schema = _Wrapper.model_json_schema()
    layers = sorted(graph.layers)
    for definition in schema.get("$defs", {}).values():
        props = definition.get("properties", {})
        if "layer" in props:
            props["layer"] = {"type": "string", "enum": layers}
        if "aggregator" in props:
            props["aggregator"] = {"type": "string", "enum": proposable_aggregators()}
    return schema


def parse_edit(text: str) -> AnyEdit:
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
) -> AnyEdit | None:
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
    except (ParseError, LMError):
        return None
