"""graph_from_spec: turn a validated YAML spec into a Graph."""

from __future__ import annotations

from pathlib import Path

from ann.agent import Agent
from ann.errors import ConfigError
from ann.graph import Graph
from ann.layers.layer import Layer
from ann.lm import ModelClient
from ann.spec import Spec


def graph_from_spec(spec: Spec, *, lm: ModelClient | None = None, source: str | Path = "spec") -> Graph:
    """Build the graph a spec describes.

    Raises:
        ConfigError: The spec has no graph, or the graph is invalid; the message names the spec
            file and the layer.
    """
    if spec.graph is None:
        raise ConfigError(f"{source}: the spec has no graph; plan one with `ann plan` or `ann compile --plan`")
    try:
        layers = [
            Layer(
                layer.name,
                [Agent(agent.name, agent.role, agent.instructions) for agent in layer.agents],
                layer.aggregator,
                inputs=layer.inputs,
                outputs=layer.outputs,
                samples=layer.samples,
                temperature=layer.temperature,
                options=layer.options,
            )
            for layer in spec.graph.layers
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
