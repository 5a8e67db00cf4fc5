"""graph_from_spec: turn a validated YAML spec into a Graph."""

from __future__ import annotations

from pathlib import Path

from ann.agent import Agent
from ann.errors import ConfigError
from ann.graph import Graph
from ann.layers.layer import Layer
from ann.lm import ModelClient
from ann.spec import Spec
from ann.tools.module import load_tools
from ann.tools.tool import Tool


def graph_from_spec(spec: Spec, *, lm: ModelClient | None = None, source: str | Path = "spec") -> Graph:
    """Build the graph a spec describes.

    Raises:
        ConfigError: The spec has no graph, or the graph is invalid; the message names the spec
            file and the layer.
    """
    if spec.graph is None:
        raise ConfigError(f"{source}: the spec has no graph; plan one with `ann plan` or `ann compile --plan`")
    tools = load_tools(spec.tools) if spec.tools else {}
    try:
        layers = [
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
            )
            for i, layer in enumerate(spec.graph.layers)
        ]
        graph = Graph(
            layers,
            inputs=spec.inputs,
            outputs=spec.outputs,
            name=spec.name,
            description=spec.description,
            fields=spec.descriptions(),
            choices=spec.choices(),
            lm=lm,
        )
        graph.freeze(*spec.freeze)
        return graph
    except (ConfigError, ValueError) as exc:
        raise ConfigError(f"{source}: {exc}") from exc


def _agent_tools(tools: dict[str, Tool], names: list[str], where: str) -> list[Tool]:
    """The named tools, shared between agents so each tool's doc is one param."""
    unknown = [name for name in names if name not in tools]
    if unknown:
        raise ConfigError(f"{where}: unknown tool {unknown[0]!r}; the tools module defines {sorted(tools)}")
    return [tools[name] for name in names]
