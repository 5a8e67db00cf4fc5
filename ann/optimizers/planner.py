"""Dynamic decomposition: a planner model proposes the graph — layers, fields, team types, teams.

The reply is asked for as schema-constrained JSON, then validated twice: as a spec (pydantic)
and as a graph (cycles, missing producers, team sizes). A bad plan is sent back with the error
and retried; after ``tries`` bad plans the planner gives up with the last error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from ann.build import graph_from_spec
from ann.calls import traced_call
from ann.datasets.example import Example
from ann.errors import AnnError, ConfigError, ParseError
from ann.layers.registry import proposable_aggregators
from ann.lm import ModelClient, json_response_format
from ann.optimizers.describe import clip
from ann.optimizers.guards import Guards
from ann.optimizers.prompts import (
    PLANNER_RETRY,
    PLANNER_SYSTEM,
    PLANNER_TEAM_TYPE,
    PLANNER_USER,
    TEAM_TYPE_SUMMARIES,
)
from ann.render import render
from ann.replies import parse_reply
from ann.spec import GraphSpec, Spec
from ann.trace import Trace


class PlanError(AnnError):
    """The planner produced no valid graph within its tries."""


def plan_schema(max_layers: int, max_agents: int) -> dict[str, Any]:
    """The JSON Schema a plan must match (inline, no references, so grammars can be built from it)."""
    # Bounded lengths keep a small model from rambling until its token limit cuts the JSON off.
    names = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,30}$"}
    text = {"type": "string", "maxLength": 300}
    agent = {
        "type": "object",
        "properties": {"name": names, "role": {"type": "string", "maxLength": 80}, "instructions": text},
        "required": ["name", "role", "instructions"],
    }
    layer = {
        "type": "object",
        "properties": {
            "name": names,
            "inputs": {"type": "array", "items": names, "minItems": 1, "maxItems": 4},
            "outputs": {"type": "array", "items": names, "minItems": 1, "maxItems": 3},
            "aggregator": {"type": "string", "enum": proposable_aggregators()},
            "agents": {"type": "array", "items": agent, "minItems": 1, "maxItems": max_agents},
        },
        "required": ["name", "inputs", "outputs", "aggregator", "agents"],
    }
    return {
        "type": "object",
        "properties": {"layers": {"type": "array", "items": layer, "minItems": 1, "maxItems": max_layers}},
        "required": ["layers"],
    }


def _describe_examples(examples: Sequence[Example], spec: Spec) -> str:
    lines = []
    for example in examples:
        shown = {**example.inputs, **{k: v for k, v in example.expected.items() if k in spec.outputs}}
        lines.append(clip(json.dumps(shown, ensure_ascii=False), 400))
    return "\n".join(lines) or "(none)"


def _fields(names: list[str], spec: Spec) -> str:
    described = spec.descriptions()
    choices = spec.choices()
    lines = []
    for name in names:
        extra = f" (one of: {', '.join(choices[name])})" if name in choices else ""
        lines.append(f"- {name}: {described.get(name, '')}{extra}".rstrip(": "))
    return "\n".join(lines)


def check_plan(spec: Spec, text: str) -> Spec:
    """The spec with the planned graph.

    Raises:
        ParseError: The reply is not a plan, or the plan is not a valid graph (the message says
            why, and is shown to the planner on its next try).
    """
    data = parse_reply(["layers"], text, json_reply=True)
    try:
        layers = json.loads(data["layers"])
        graph = GraphSpec.model_validate({"layers": layers})
        planned = spec.model_copy(update={"graph": graph})
        graph_from_spec(planned, source="plan")
    except json.JSONDecodeError as exc:
        raise ParseError(f"'layers' is not a JSON list ({exc.msg})", raw=text) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ParseError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", raw=text) from exc
    except ConfigError as exc:
        raise ParseError(str(exc).removeprefix("plan: "), raw=text) from exc
    return planned


async def plan_graph(
    spec: Spec,
    examples: Sequence[Example],
    lm: ModelClient,
    *,
    max_layers: int = 3,
    max_agents: int = 3,
    tries: int = 3,
    trace: Trace | None = None,
    guards: Guards | None = None,
) -> Spec:
    """Ask the planner for a graph for ``spec``'s task; returns the spec with that graph.

    The planner sees training examples, so every role and instruction it writes must pass the
    overfitting ``guards``; a plan that fails them goes back to the planner like an invalid one.

    Raises:
        PlanError: No valid plan within ``tries``.
    """
    trace = trace or Trace(example_id="planner")
    team_types = "\n".join(render(PLANNER_TEAM_TYPE, name=n, summary=s) for n, s in TEAM_TYPE_SUMMARIES.items())
    messages = [
        {"role": "system", "content": render(PLANNER_SYSTEM, max_layers=max_layers, max_agents=max_agents,
                                             team_types=team_types)},
        {"role": "user", "content": render(PLANNER_USER, task=spec.description or spec.name,
                                           inputs=_fields(spec.inputs, spec), outputs=_fields(spec.outputs, spec),
                                           examples=_describe_examples(examples[:3], spec))},
    ]  # fmt: skip
    response_format = json_response_format(plan_schema(max_layers, max_agents), lm.config.schema_style)
    error = ""
    for attempt in range(tries):
        try:
            planned = await traced_call(
                lm, trace, layer="planner", agent="planner", purpose=f"plan attempt {attempt + 1}",
                inputs={"task": spec.description}, messages=messages, parse=lambda text: check_plan(spec, text),
                sample=attempt, response_format=response_format,
            )  # fmt: skip
            error = await _overfitting(planned, guards) if guards is not None else ""
            if not error:
                return planned
        except ParseError as exc:
            error = str(exc).splitlines()[0][:300]
        raw = trace.calls[-1].raw
        messages = [*messages[:2], {"role": "assistant", "content": raw},
                    {"role": "user", "content": render(PLANNER_RETRY, error=error)}]  # fmt: skip
    raise PlanError(f"the planner gave no valid graph in {tries} tries; last problem: {error}")


async def _overfitting(planned: Spec, guards: Guards) -> str:
    """The first role or instructions of the plan that an overfitting guard rejects, with the reason."""
    layers = planned.graph.layers if planned.graph else []
    for layer in layers:
        for agent in layer.agents:
            for name, text in (("role", agent.role), ("instructions", agent.instructions)):
                reason = await guards.check(text, allowed=planned.description) if text else None
                if reason is not None:
                    return f"layer '{layer.name}', agent '{agent.name}': the {name} {reason}"
    return ""


def fallback_plan(spec: Spec) -> Spec:
    """The smallest graph for a task: one agent reading every input and writing every output, its
    instructions the task description — a start that training can improve when planning fails."""
    agent = {"name": "solver", "role": "", "instructions": spec.description}
    layer = {"name": "solve", "inputs": spec.inputs, "outputs": spec.outputs, "aggregator": "single", "agents": [agent]}
    return spec.model_copy(update={"graph": GraphSpec.model_validate({"layers": [layer]})})
