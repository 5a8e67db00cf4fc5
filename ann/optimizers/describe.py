"""Plain-text views of a graph, a run and an example, as the optimizer's prompts show them.

Every view is bounded in length so that prompts stay small however long inputs or replies get.
"""

from __future__ import annotations

from typing import Any

from ann.graph import Graph
from ann.layers.layer import Layer
from ann.optimizers.prompts import (
    AGENT_LINE,
    CANDIDATE_LINE,
    FIELD_LINE,
    LAYER_LINE,
    TEAM_TEXT_LINE,
    TRAJECTORY_LINE,
)
from ann.render import render
from ann.trace import Trace

MAX_VALUE_CHARS = 600


def clip(text: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A value as text, cut in the middle when longer than ``limit`` characters."""
    text = str(text)
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]} […] {text[-half:]}"


def describe_fields(values: dict[str, Any]) -> str:
    return "\n".join(render(FIELD_LINE, name=name, value=clip(value)) for name, value in values.items()) or "(none)"


def inline_fields(values: dict[str, Any], limit: int = 300) -> str:
    """Fields on one line: ``answer: 42; reason: ...``."""
    return "; ".join(render(FIELD_LINE, name=name, value=clip(value, limit)) for name, value in values.items())


def describe_candidates(candidates: list[dict[str, Any]], limit: int = 900) -> str:
    lines = [render(CANDIDATE_LINE, number=i, outputs=inline_fields(c, 200)) for i, c in enumerate(candidates, 1)]
    return clip("\n".join(lines), limit) or "(none)"


def describe_layer(layer: Layer) -> str:
    size = len(layer.agents)
    return render(
        LAYER_LINE,
        name=layer.name,
        aggregator=layer.aggregator.value,
        size=size,
        plural="" if size == 1 else "s",
        inputs=", ".join(layer.inputs),
        outputs=", ".join(layer.outputs),
    )


def describe_team(layer: Layer) -> str:
    """The team's agents, then the team type's own texts (a rubric, a constitution)."""
    lines = [
        render(
            AGENT_LINE,
            name=agent.name,
            role=agent.role.value or "(none)",
            instructions=agent.instructions.value or "(none)",
        )
        for agent in layer.agents
    ]
    texts = layer.team_type.texts.items() if layer.team_type is not None else []
    lines += [render(TEAM_TEXT_LINE, name=name, value=clip(param.value, 300)) for name, param in texts]
    return "\n".join(lines)


def describe_graph(graph: Graph) -> str:
    return "\n".join(describe_layer(graph.layers[name]) for name in graph.order)


def describe_trajectory(trace: Trace) -> str:
    return "\n".join(
        render(TRAJECTORY_LINE, layer=record.layer, outputs=inline_fields(record.outputs), decision=record.decision)
        for record in trace.layers
    )
