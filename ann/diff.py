"""Diff two trained systems: params line by line, the graph's shape, demos, and scores.

Both sides are bundles; a spec becomes the bundle it would save untrained (``bundle_of_source``),
so "what did training change?" is ``ann diff spec.yaml runs/x/bundle.json``.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ann.bundle import Bundle, load_bundle, make_bundle
from ann.errors import ConfigError
from ann.spec import LayerSpec, Spec, load_spec

Change = Literal["added", "removed", "changed"]


@dataclass
class StructureChange:
    """One difference in the graph's shape, e.g. ``layer 'solve' aggregator: single → vote``."""

    where: str
    change: Change
    before: Any = None
    after: Any = None

    def line(self) -> str:
        if self.change == "changed":
            return f"{self.where}: {_show(self.before)} → {_show(self.after)}"
        return f"{self.where} {self.change}"


@dataclass
class ParamChange:
    """A param present on one side only, or whose text or trainable flag differs."""

    name: str
    change: Change
    kind: str
    before: str | None = None
    after: str | None = None
    trainable: tuple[bool | None, bool | None] | None = None
    diff: list[str] = field(default_factory=list)


@dataclass
class DemoChange:
    """The demos of one agent's ``demos`` param that only one side holds."""

    name: str
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ScoreChange:
    """Validation scores of both sides (a spec has none) and how the best moved."""

    before: dict[str, float | None]
    after: dict[str, float | None]
    delta: float | None


@dataclass
class BundleDiff:
    """Everything that differs between two bundles, A (before) and B (after)."""

    a: str
    b: str
    structure: list[StructureChange]
    params: list[ParamChange]
    demos: list[DemoChange]
    scores: ScoreChange

    @property
    def same(self) -> bool:
        return not (self.structure or self.params or self.demos) and self.scores.delta in (None, 0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def bundle_of_source(path: str | Path) -> Bundle:
    """A bundle file as it is, or a YAML spec as the untrained bundle it would save.

    Nothing is imported: a spec's Python tools module is parsed for names and docstrings.

    Raises:
        ConfigError: The file is not a valid spec or bundle, or the spec has no graph.
    """
    from ann.build import graph_from_spec
    from ann.tools.module import read_tools

    path = Path(path)
    if path.suffix == ".json":
        return load_bundle(path)
    spec = load_spec(path)
    if spec.graph is None:
        raise ConfigError(f"{path}: the spec has no graph to compare (`ann plan` proposes one)")
    graph = graph_from_spec(spec, source=path, tools=read_tools(spec.tools) if spec.tools else {})
    return make_bundle(graph, spec=spec)


def diff_bundles(a: Bundle, b: Bundle, *, names: tuple[str, str] = ("A", "B")) -> BundleDiff:
    """What changed from bundle ``a`` to bundle ``b``.

    Args:
        a: The "before" side.
        b: The "after" side.
        names: How the two sides are labelled in text diffs (usually their paths).

    Returns:
        A BundleDiff; ``.same`` is True when nothing differs.
    """
    params, demos = _param_changes(a, b, names)
    before, after = a.scores.model_dump(), b.scores.model_dump()
    delta = None if a.scores.best is None or b.scores.best is None else b.scores.best - a.scores.best
    return BundleDiff(
        a=names[0],
        b=names[1],
        structure=structure_changes(a.spec, b.spec),
        params=params,
        demos=demos,
        scores=ScoreChange(before=before, after=after, delta=delta),
    )


def structure_changes(a: Spec, b: Spec) -> list[StructureChange]:
    """Differences in the graph's inputs, outputs, layers, team types, agents and their tools."""
    changes = [
        StructureChange(f"graph {key}", "changed", getattr(a, key), getattr(b, key))
        for key in ("inputs", "outputs")
        if getattr(a, key) != getattr(b, key)
    ]
    layers_a = {layer.name: layer for layer in (a.graph.layers if a.graph else [])}
    layers_b = {layer.name: layer for layer in (b.graph.layers if b.graph else [])}
    for name in layers_a.keys() - layers_b.keys():
        changes.append(StructureChange(f"layer {name!r}", "removed", before=layers_a[name].aggregator))
    for name in layers_b.keys() - layers_a.keys():
        changes.append(StructureChange(f"layer {name!r}", "added", after=layers_b[name].aggregator))
    for name in [n for n in layers_a if n in layers_b]:
        changes.extend(_layer_changes(layers_a[name], layers_b[name]))
    common = [n for n in layers_a if n in layers_b]
    if common != [n for n in layers_b if n in layers_a]:
        changes.append(StructureChange("layer order", "changed", common, [n for n in layers_b if n in layers_a]))
    return changes


def _layer_changes(a: LayerSpec, b: LayerSpec) -> list[StructureChange]:
    where = f"layer {a.name!r}"
    labels = {"aggregator": "team type"}
    changes = [
        StructureChange(f"{where} {labels.get(key, key)}", "changed", getattr(a, key), getattr(b, key))
        for key in ("aggregator", "inputs", "outputs", "samples", "temperature", "options")
        if getattr(a, key) != getattr(b, key)
    ]
    agents_a = {agent.name: agent for agent in a.agents}
    agents_b = {agent.name: agent for agent in b.agents}
    changes += [StructureChange(f"{where} agent {n!r}", "removed") for n in agents_a if n not in agents_b]
    changes += [StructureChange(f"{where} agent {n!r}", "added") for n in agents_b if n not in agents_a]
    for name in [n for n in agents_a if n in agents_b]:
        tools_a, tools_b = agents_a[name].tools, agents_b[name].tools
        tool = f"{where} agent {name!r} tool"
        changes += [StructureChange(f"{tool} {t!r}", "removed") for t in tools_a if t not in tools_b]
        changes += [StructureChange(f"{tool} {t!r}", "added") for t in tools_b if t not in tools_a]
    return changes


def _param_changes(a: Bundle, b: Bundle, names: tuple[str, str]) -> tuple[list[ParamChange], list[DemoChange]]:
    params: list[ParamChange] = []
    demos: list[DemoChange] = []
    for name in sorted(a.params.keys() | b.params.keys()):
        old, new = a.params.get(name), b.params.get(name)
        kind = (new or old).kind  # type: ignore[union-attr] — one side always has it
        if kind == "demos":
            change = _demo_change(name, old.value if old else "[]", new.value if new else "[]")
            if change.added or change.removed:
                demos.append(change)
            continue
        if old is None or new is None:
            params.append(ParamChange(name, "removed" if new is None else "added", kind,
                                      before=old.value if old else None, after=new.value if new else None))  # fmt: skip
            continue
        if old.value == new.value and old.trainable == new.trainable:
            continue
        lines = difflib.unified_diff(
            old.value.splitlines(), new.value.splitlines(), f"{names[0]}:{name}", f"{names[1]}:{name}", lineterm=""
        )
        params.append(ParamChange(
            name, "changed", kind, before=old.value, after=new.value,
            trainable=None if old.trainable == new.trainable else (old.trainable, new.trainable),
            diff=list(lines),
        ))  # fmt: skip
    return params, demos


def _demo_change(name: str, before: str, after: str) -> DemoChange:
    old, new = _demos(before), _demos(after)
    return DemoChange(
        name,
        added=[json.loads(d) for d in new if d not in old],
        removed=[json.loads(d) for d in old if d not in new],
    )


def _demos(value: str) -> list[str]:
    """Each demo as canonical JSON, so key order does not count as a change (unreadable: none)."""
    try:
        demos = json.loads(value or "[]")
    except json.JSONDecodeError:
        return []
    return [json.dumps(d, sort_keys=True) for d in demos if isinstance(d, dict)] if isinstance(demos, list) else []


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def diff_text(diff: BundleDiff) -> list[str]:
    """The diff as plain lines for a terminal or a code review."""
    if diff.same:
        return [f"no differences between {diff.a} and {diff.b}"]
    lines = [f"--- {diff.a}", f"+++ {diff.b}"]
    if diff.structure:
        lines += ["", "structure:"] + [f"  {change.line()}" for change in diff.structure]
    for change in diff.params:
        lines.append("")
        if change.change != "changed":
            lines.append(f"param {change.name} ({change.kind}) {change.change}: {change.after or change.before!r}")
            continue
        lines.append(f"param {change.name} ({change.kind}) changed")
        if change.trainable is not None:
            lines.append(f"  trainable: {change.trainable[0]} → {change.trainable[1]}")
        lines += change.diff[2:]  # the ---/+++ header only repeats the param's name
    for change in diff.demos:
        lines += ["", f"demos {change.name}: {len(change.added)} added, {len(change.removed)} removed"]
        lines += [f"  + {json.dumps(d, ensure_ascii=False)}" for d in change.added]
        lines += [f"  - {json.dumps(d, ensure_ascii=False)}" for d in change.removed]
    before, after = diff.scores.before, diff.scores.after
    if any(v is not None for v in (*before.values(), *after.values())):
        lines += ["", f"scores: baseline {_score(before['baseline'])} → {_score(after['baseline'])}, "
                      f"best {_score(before['best'])} → {_score(after['best'])}"
                      + (f" ({diff.scores.delta:+.3f})" if diff.scores.delta is not None else "")]  # fmt: skip
    return lines


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
