"""The `markdown` export: a trained system described for people who never run Python.

It reads top to bottom: what the system does and how well, a diagram, then each step (layer) with
its team, each member's role, instructions, worked examples and tools, and where each text came
from (the training step that wrote it and the validation score it earned).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ann.agent import Agent
from ann.bundle import Bundle, ParamRecord
from ann.export.mermaid import export_mermaid
from ann.graph import Graph
from ann.layers.layer import Layer


def _quote(text: str) -> str:
    """A block quote; an empty text says so."""
    lines = text.strip().splitlines() or ["(empty)"]
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _score(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.3f}"


def _team_summary(layer: Layer) -> str:
    """The team type's one-line description, from its own module docstring."""
    team_type = layer.make_aggregator()
    doc = (sys.modules[type(team_type).__module__].__doc__ or "").strip().splitlines()
    return doc[0].split(":", 1)[-1].strip() if doc else ""


def _history(record: ParamRecord | None) -> str:
    """Where a text came from: its original value, then each training step that changed it."""
    if record is None or len(record.history) <= 1:
        return "_Source: the spec, unchanged by training._"
    lines = ["_Source: rewritten by training. History:_", ""]
    for number, entry in enumerate(record.history):
        origin = "original (spec)" if number == 0 else f"step {entry.step}" if entry.step is not None else "training"
        lines.append(f"- {origin}, validation score {_score(entry.score)}: {_inline(entry.value)}")
    return "\n".join(lines)


def _inline(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return '"' + (text if len(text) <= limit else text[: limit - 1] + "…") + '"'


def _demos(agent: Agent, layer: Layer) -> list[str]:
    demos = agent.demo_examples()
    if not demos:
        return []
    lines = [f"**Worked examples** shown before each input ({len(demos)}):", ""]
    for number, demo in enumerate(demos, 1):
        given = "; ".join(f"{name} = {_inline(str(demo.get(name, '')))}" for name in layer.inputs)
        answer = "; ".join(f"{name} = {_inline(str(demo.get(name, '')))}" for name in layer.outputs)
        lines.append(f"{number}. Given {given} → {answer}")
    return [*lines, ""]


def _agent(agent: Agent, layer: Layer, params: dict[str, ParamRecord]) -> list[str]:
    prefix = f"{layer.name}.{agent.name}"
    lines = [f"#### Member `{agent.name}`", ""]
    lines += [f"**Role:** {agent.role.value.strip() or '(none)'}", ""]
    lines += [_history(params.get(f"{prefix}.role")), ""]
    lines += ["**Instructions:**", "", _quote(agent.instructions.value), ""]
    lines += [_history(params.get(f"{prefix}.instructions")), ""]
    lines += _demos(agent, layer)
    for tool in agent.tools:
        args = ", ".join(tool.schema().get("properties", {}))
        lines += [f"**Tool `{tool.name}({args})`:**", "", _quote(tool.doc.value or "(undocumented)"), ""]
        lines += [_history(params.get(f"{prefix}.tools.{tool.name}.doc")), ""]
    return lines


def _layer(number: int, layer: Layer, params: dict[str, ParamRecord]) -> list[str]:
    team_type = layer.make_aggregator()
    lines = [f"### {number}. Step `{layer.name}`", ""]
    lines += [
        f"- Reads: {', '.join(_code(n) for n in layer.inputs)}",
        f"- Writes: {', '.join(_code(n) for n in layer.outputs)}",
    ]
    size = f"{len(layer.agents)} member{'s' if len(layer.agents) > 1 else ''}"
    samples = f", each answering {layer.samples} times" if layer.samples > 1 else ""
    lines.append(f"- Team: {_code(team_type.name)} — {_team_summary(layer)} ({size}{samples})")
    if layer.options:
        lines.append(f"- Settings: {', '.join(f'{k} = {json.dumps(v)}' for k, v in layer.options.items())}")
    lines.append("")
    for agent in layer.agents:
        lines += _agent(agent, layer, params)
    own = list(team_type.named_parameters())
    if own:
        lines += [f"#### The {team_type.name} team's own texts", ""]
        for name, param in own:
            lines += [f"**{_code(name)}:**", "", _quote(param.value), ""]
            lines += [_history(params.get(f"{layer.name}.{team_type.name}.{name}")), ""]
    return lines


def _setting(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _training(training: dict[str, Any]) -> list[str]:
    """What the training run did first, then its settings on one line."""
    if not training:
        return []
    facts = {"steps": "Training steps", "accepted": "Accepted changes", "stopped": "Stopped because",
             "model": "Model", "optimizer_model": "Optimizer model"}  # fmt: skip
    lines = ["## Training", ""]
    lines += [f"- {label}: {_setting(training[key])}" for key, label in facts.items() if key in training]
    settings = [f"{key.replace('_', ' ')} {_setting(value)}" for key, value in training.items()
                if key not in facts and value is not None]  # fmt: skip
    if settings:
        lines.append(f"- Settings: {', '.join(settings)}")
    return [*lines, ""]


def export_markdown(graph: Graph, bundle: Bundle) -> str:
    """The whole document as Markdown (with a Mermaid diagram, which GitHub and GitLab draw)."""
    members = sum(len(graph.layers[name].agents) for name in graph.order)
    lines = [f"# {graph.name}", ""]
    if graph.task.value.strip():
        lines += [graph.task.value.strip(), ""]
    lines += [
        f"- Takes: {', '.join(_code(n) for n in graph.inputs)}",
        f"- Gives: {', '.join(_code(n) for n in graph.outputs)}",
        f"- Steps: {len(graph.order)}, with {members} team member{'s' if members != 1 else ''} in all; each "
        "member's answer is one call to a language model",
    ]
    if bundle.scores.baseline is not None or bundle.scores.best is not None:
        lines.append(f"- Validation score: {_score(bundle.scores.baseline)} before training, "
                     f"{_score(bundle.scores.best)} after")  # fmt: skip
    described = {name: text for name, text in graph.fields.items() if text}
    if described:
        lines += ["", "Fields:", ""] + [f"- {_code(name)}: {text}" for name, text in described.items()]
    lines += ["", "## How the steps connect", "", "```mermaid", export_mermaid(graph).rstrip(), "```", ""]
    lines += ["## Steps", ""]
    for number, name in enumerate(graph.order, 1):
        lines += _layer(number, graph.layers[name], bundle.params)
    lines += _training(bundle.training)
    lines.append(f"_Exported from an ann {bundle.ann_version} bundle._")
    return "\n".join(lines) + "\n"
