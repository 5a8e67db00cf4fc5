"""graph_from_spec: turn a validated YAML spec into a Graph."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ann.agent import Agent
from ann.errors import ConfigError
from ann.graph import Graph
from ann.layers.layer import Layer
from ann.layers.registry import aggregator_class
from ann.spec import LayerSpec, Spec
from ann.tools.module import load_tools
from ann.tools.tool import Tool

if TYPE_CHECKING:
    from ann.lm import ModelClient


def graph_from_spec(
    spec: Spec, *, lm: ModelClient | None = None, source: str | Path = "spec", tools: dict[str, Tool] | None = None
) -> Graph:
    """Build the graph a spec describes.

    Args:
        spec: The spec, its tools file path already absolute (as ``load_spec`` gives it).
        lm: The graph's default model.
        source: Where the spec came from, for error messages.
        tools: Tools to use instead of importing ``spec.tools`` (``ann show`` reads them unimported).

    Raises:
        ConfigError: The spec has no graph, or the graph is invalid; the message names the spec
            file and the layer.
    """
    if spec.graph is None:
        raise ConfigError(f"{source}: the spec has no graph; plan one with `ann plan` or `ann compile --plan`")
    if tools is None:
        tools = load_tools(spec.tools) if spec.tools else {}
    try:
        layers = build_layers(spec.graph.layers, tools)
        graph = Graph(
            layers,
            inputs=spec.inputs,
            outputs=spec.outputs,
            name=spec.name,
            description=spec.description,
            fields=spec.descriptions(),
            choices=spec.choices(),
            types=spec.types(),
            lm=lm,
        )
        graph.freeze(*spec.freeze)
        return graph
    except (ConfigError, ValueError) as exc:
        raise ConfigError(f"{source}: {exc}") from exc


def build_layers(layers: Sequence[LayerSpec], tools: dict[str, Tool]) -> list[Layer]:
    """Layers from their specs, with the named tools (shared, so each tool's doc is one param)."""
    return [
        Layer(
            layer.name,
            [
                Agent(
                    agent.name,
                    agent.role,
                    agent.instructions,
                    tools=_agent_tools(tools, agent.tools, f"graph.layers.{i}.agents.{j}.tools"),
                )
                for j, agent in enumerate(layer.agents)
            ],  # fmt: skip
            layer.aggregator,
            inputs=layer.inputs,
            outputs=layer.outputs,
            samples=layer.samples,
            temperature=layer.temperature,
            options=layer.options,
            tools=_agent_tools(tools, _team_tool_names(layer), f"graph.layers.{i}.options"),
        )
        for i, layer in enumerate(layers)
    ]


def _team_tool_names(layer: LayerSpec) -> list[str]:
    """The tools the layer's team type calls itself (a verify layer's verifier); an unknown type calls none."""
    team_type = aggregator_class(layer.aggregator)
    return team_type.tool_names(layer.options) if team_type is not None else []


def graph_with_layers(graph: Graph, layers: Sequence[LayerSpec]) -> Graph:
    """A graph like ``graph`` (inputs, outputs, task, fields, model) with other layers, built in memory
    from the graph's own tool objects: a structural edit never re-imports a tools module.

    Raises:
        ConfigError: The layers do not make a valid graph.
    """
    tools = {tool.name: tool for tool in graph.tools()}
    try:
        rebuilt = Graph(
            build_layers(layers, tools), inputs=graph.inputs, outputs=graph.outputs, name=graph.name,
            description=graph.task.value, fields=graph.fields, choices=graph.choices, types=graph.types,
            lm=graph.lm,
        )  # fmt: skip
    except (ConfigError, ValueError) as exc:
        raise ConfigError(f"edit: {exc}") from exc
    frozen = {name for name, param in graph.named_parameters() if not param.trainable}
    for name, param in rebuilt.named_parameters():
        param.trainable = param.trainable and name not in frozen
    return rebuilt


def _agent_tools(tools: dict[str, Tool], names: list[str], where: str) -> list[Tool]:
    """The named tools, shared between agents (and team types) so each tool's doc is one param."""
    unknown = [name for name in names if name not in tools]
    if unknown:
        raise ConfigError(f"{where}: unknown tool {unknown[0]!r}; the tools module defines {sorted(tools)}")
    return [tools[name] for name in names]
