"""Bundle: a trained graph as one portable, versioned JSON file with a published JSON Schema.

A bundle holds a complete spec (so loading needs only ann — no pickles, no original source),
every param's final value with its history, the scores before and after training, hashes of the
data it was trained on, and the training settings. It never holds API keys.
"""

from __future__ import annotations

import hashlib
import json
import reprlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError

from ann.errors import ConfigError
from ann.io import atomic_write_text
from ann.params import HistoryEntry
from ann.spec import (
    AgentSpec,
    FieldSpec,
    GraphSpec,
    LayerSpec,
    MetricSpec,
    ModelSpec,
    Spec,
    describe_validation_error,
    read_text_file,
    too_big,
    with_paths_from,
    with_paths_relative_to,
)
from ann.strict_model import StrictModel
from ann.tools.exploration import DraftRun
from ann.tools.module import tools_digest

if TYPE_CHECKING:
    from ann.graph import Graph

BUNDLE_FORMAT = "ann.bundle"
BUNDLE_VERSION = 1


class Evidence(StrictModel):
    """What validation said when a change was kept: both mean scores and the gate's paired verdict."""

    val_before: float | None = Field(default=None, description="the incumbent's validation score")
    val_after: float | None = Field(default=None, description="the changed graph's validation score")
    wins: int | None = Field(default=None, description="validation examples the change improved")
    losses: int | None = Field(default=None, description="validation examples the change made worse")
    ties: int | None = None
    p_value: float | None = Field(default=None, description="one-sided sign test of wins against losses")
    reason: str | None = Field(default=None, description="the rule the gate applied")


class ParamHistory(StrictModel):
    """One accepted value of a param, and its provenance: the step, the gradient and the evidence."""

    value: str
    score: float | None = None
    step: int | None = None
    gradient: str | None = Field(default=None, description="the textual gradient the rewrite answered")
    evidence: Evidence | None = None


class ParamRecord(StrictModel):
    value: str
    description: str
    kind: str
    trainable: bool
    history: list[ParamHistory] = Field(default_factory=list)


class Scores(StrictModel):
    baseline: float | None = None
    best: float | None = None


class Bundle(StrictModel):
    """The file format of a trained (or just saved) graph, version 1."""

    format: Literal["ann.bundle"] = BUNDLE_FORMAT
    version: Literal[1] = BUNDLE_VERSION
    ann_version: str
    spec: Spec
    params: dict[str, ParamRecord]
    scores: Scores = Field(default_factory=Scores)
    data: dict[str, str] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    draft: list[DraftRun] = Field(default_factory=list, description="DRAFT explorations of the graph's tools")
    tools_sha256: str | None = Field(default=None, description="sha256 of spec.tools when the bundle was written; "
                                     "loading imports the tools file only if it still matches")  # fmt: skip
    sha256: str | None = Field(default=None, description="sha256 of the bundle's content without this field "
                               "(see ann.bundle.content_digest); `ann show --verify` checks it")  # fmt: skip


def layer_specs(graph: Graph) -> list[LayerSpec]:
    """The graph's layers as specs with their current param values, in topological order."""
    return [
        LayerSpec(
            name=layer.name,
            inputs=layer.inputs,
            outputs=layer.outputs,
            aggregator=layer.aggregator.value,
            agents=[
                AgentSpec(
                    name=a.name,
                    role=a.role.value,
                    instructions=a.instructions.value,
                    tools=[tool.name for tool in a.tools],
                )
                for a in layer.agents
            ],  # fmt: skip
            samples=layer.samples,
            temperature=layer.temperature,
            options=layer.options,
        )
        for layer in (graph.layers[name] for name in graph.order)
    ]


def spec_from_graph(
    graph: Graph, *, metric: MetricSpec | None = None, model: ModelSpec | None = None, base: Spec | None = None
) -> Spec:
    """A spec that rebuilds ``graph`` with its current param values (the inverse of graph_from_spec)."""
    layers = layer_specs(graph)
    names = set(graph.fields) | set(graph.choices) | set(graph.types)
    fields = {
        n: graph.types.get(n, FieldSpec()).model_copy(
            update={"description": graph.fields.get(n, ""), "choices": graph.choices.get(n)}
        )
        for n in sorted(names)
    }
    updates = {
        "name": graph.name,
        "description": graph.task.value,
        "inputs": graph.inputs,
        "outputs": graph.outputs,
        "fields": fields,
        "freeze": [n for n, p in graph.named_parameters() if not p.trainable and p.kind in ("role", "instructions")],
        "graph": GraphSpec(layers=layers),
        "tools": (base.tools if base is not None else None) or _tools_module(graph),
    }
    if base is not None:
        return base.model_copy(update=updates)
    return Spec(**updates, metric=metric, model=model or ModelSpec())


def _tools_module(graph: Graph) -> str | None:
    """The one file the graph's tools were loaded from, so a bundle can load them again.

    Raises:
        ConfigError: The tools come from several files, or from none (a lambda, an HTTP tool built in code).
    """
    sources = {tool.name: tool.source for tool in graph.tools()}
    if not sources:
        return None
    unsourced = sorted(name for name, source in sources.items() if source is None)
    if unsourced:
        raise ConfigError(f"tool {unsourced[0]!r} was not loaded from a file, so a bundle cannot load it again; "
                          "define tools in one Python module or API description")  # fmt: skip
    files = set(sources.values())
    if len(files) > 1:
        raise ConfigError(f"a bundle loads tools from one file, but the graph's tools come from {sorted(files)}")
    return str(Path(files.pop()).resolve())


def make_bundle(
    graph: Graph,
    *,
    spec: Spec | None = None,
    scores: Scores | None = None,
    data: dict[str, str] | None = None,
    training: dict[str, Any] | None = None,
    draft: list[DraftRun] | None = None,
) -> Bundle:
    """Everything about ``graph`` worth keeping, as a Bundle."""
    from ann import __version__

    params = {
        name: ParamRecord(
            value=p.value,
            description=p.description,
            kind=p.kind,
            trainable=p.trainable,
            history=[
                ParamHistory(value=e.value, score=e.score, step=e.step, gradient=e.gradient, evidence=e.evidence)
                for e in p.history
            ],
        )
        for name, p in graph.named_parameters()
    }
    return Bundle(
        ann_version=__version__,
        spec=spec_from_graph(graph, base=spec),
        params=params,
        scores=scores or Scores(),
        data=data or {},
        training=training or {},
        draft=draft or [],
    )


def restore_params(graph: Graph, bundle: Bundle) -> None:
    """Give the graph's params the bundle's values, trainable flags and histories.

    The spec already carries agents' texts; this also restores what a spec has no place for,
    such as a team type's own agents (a judge's instructions) and texts (a rubric).
    """
    for name, param in graph.named_parameters():
        record = bundle.params.get(name)
        if record is not None:
            param.value = record.value
            param.trainable = record.trainable
            param.history = [
                HistoryEntry(h.value, h.score, h.step, h.gradient, h.evidence.model_dump() if h.evidence else None)
                for h in record.history
            ] or param.history


def save_bundle(bundle: Bundle, path: str | Path) -> None:
    """Write a bundle as indented JSON, atomically, with its tools file in the bundle's folder.

    Loading imports only a tools file inside the bundle's folder (see ``ann.trust``), so one that
    lies elsewhere is first copied beside the bundle as ``<bundle name>.tools.py`` (or ``.yaml``,
    ``.json``). The bundle records the tools file's path relative to itself and its sha256.

    Raises:
        ConfigError: The tools file cannot be read.
    """
    path = Path(path)
    spec, digest = bundle.spec, None
    if spec.tools is not None:
        tools = Path(spec.tools)
        if not tools.resolve().is_relative_to(path.parent.resolve()):
            copy = path.with_name(f"{path.stem}.tools{tools.suffix}")
            try:
                text = tools.read_text(encoding="utf-8")
            except (OSError, UnicodeError) as exc:
                raise ConfigError(f"{tools}: cannot copy the tools file beside the bundle ({exc})") from exc
            atomic_write_text(copy, text)
            spec = spec.model_copy(update={"tools": str(copy.resolve())})
            tools = copy
        digest = tools_digest(tools)
    bundle = bundle.model_copy(update={"spec": with_paths_relative_to(spec, path.parent), "tools_sha256": digest})
    data = json.loads(bundle.model_dump_json(exclude={"sha256"}))  # the values exactly as the file holds them
    data["sha256"] = content_digest(data)
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def content_digest(data: dict[str, Any]) -> str:
    """The sha256 of a bundle's content: every field but ``sha256``, as compact JSON with sorted keys."""
    content = {key: value for key, value in data.items() if key != "sha256"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_bundle(path: str | Path) -> str:
    """Check that a bundle's content still has the sha256 it was saved with.

    Returns:
        The digest, when it matches.

    Raises:
        ConfigError: The file is not a valid bundle, records no hash, or was edited or corrupted
            since it was saved; one line naming the file and the field.
    """
    path = Path(path)
    load_bundle(path)  # a valid bundle first: its errors are the more useful ones
    data = json.loads(read_text_file(path, "bundle"))
    recorded = data.get("sha256")
    if recorded is None:
        raise ConfigError(f"{path}: sha256: the bundle records no content hash (saved by an older ann)")
    actual = content_digest(data)
    if actual != recorded:
        raise ConfigError(f"{path}: sha256: the content does not match the recorded hash ({recorded[:12]}…, "
                          f"content {actual[:12]}…): edited or corrupted since it was saved")  # fmt: skip
    return actual


def load_bundle(path: str | Path) -> Bundle:
    """Read and validate a bundle.

    Raises:
        ConfigError: Missing file, not JSON, not a bundle, an unknown version, or an invalid
            field — one line naming the file and the field.
    """
    path = Path(path)
    text = read_text_file(path, "bundle")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: not valid JSON (nested too deeply)") from exc
    except ValueError as exc:  # a number too long to convert
        raise ConfigError(f"{path}: not valid JSON ({str(exc).split(';')[0]})") from exc
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise ConfigError(f'{path}: not an ann bundle (no "format": "{BUNDLE_FORMAT}")')
    problem = too_big(data, max_values=None)  # JSON has no aliases: its size is the file's
    if problem:
        raise ConfigError(f"{path}: too large: {problem}")
    if data.get("version") != BUNDLE_VERSION:
        version = data.get("version")
        newer = isinstance(version, int) and version > BUNDLE_VERSION
        hint = "; a newer ann wrote it, so upgrade ann" if newer else ""
        shown = reprlib.repr(version)  # a hostile file's value may be megabytes long
        raise ConfigError(f"{path}: bundle version {shown} is not supported (this ann reads 1{hint})")
    try:
        bundle = Bundle.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_validation_error(exc)}") from exc
    return bundle.model_copy(update={"spec": with_paths_from(bundle.spec, path.parent)})


def bundle_schema() -> dict[str, Any]:
    """The JSON Schema of bundle files (published as ``schema/bundle-v1.schema.json``)."""
    schema = Bundle.model_json_schema()
    schema["title"] = "ann bundle, version 1"
    return schema
