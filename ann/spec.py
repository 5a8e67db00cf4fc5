"""The YAML spec: a graph, its task, its metric and its model, validated by pydantic.

A spec error is reported as one line naming the file and the field path, e.g.
``spec.yaml: graph.layers.0.agents: at least one agent is needed``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ann.errors import ConfigError
from ann.io import atomic_write_text


class _Strict(BaseModel):
    """Unknown keys are errors: a typo in a spec must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class AgentSpec(_Strict):
    name: str
    role: str = ""
    instructions: str = ""
    tools: list[str] = Field(default_factory=list)


class LayerSpec(_Strict):
    name: str
    inputs: list[str]
    outputs: list[str] = Field(min_length=1)
    aggregator: str = "single"
    agents: list[AgentSpec] = Field(min_length=1)
    samples: int = Field(default=1, ge=1)
    temperature: float | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class GraphSpec(_Strict):
    layers: list[LayerSpec] = Field(min_length=1)


class FieldSpec(_Strict):
    """A field's description and, for labels, the values it may take."""

    description: str = ""
    choices: list[str] | None = Field(default=None, min_length=1)


class MetricSpec(_Strict):
    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class ModelSpec(_Strict):
    """Model settings; flags and environment variables override them."""

    name: str | None = None
    api_base: str | None = None
    temperature: float = 0.0
    max_tokens: int = 512


class TrainSpec(_Strict):
    """Training settings for `ann compile`; its flags override them."""

    epochs: int = Field(default=2, ge=1)
    batch_size: int = Field(default=4, ge=1)
    patience: int = Field(default=3, ge=1)
    momentum: int = Field(default=2, ge=0)
    candidates: int = Field(default=1, ge=1)
    demos: int = Field(default=0, ge=0)
    demo_source: Literal["bootstrap", "labeled"] = "bootstrap"
    lr: float = Field(default=1.0, gt=0, le=1)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    structure: bool = False
    draft: bool = False
    max_agents: int = Field(default=4, ge=1)
    max_calls: int | None = Field(default=None, gt=0)
    max_cost: float | None = Field(default=None, gt=0)
    max_time: float | None = Field(default=None, gt=0)
    optimizer_model: str | None = None
    optimizer_max_tokens: int = Field(default=256, ge=16)


class Spec(_Strict):
    """A whole task: what goes in, what comes out, how it is scored, and the graph that does it.

    With no ``graph``, `ann plan` or `ann compile` has a planner model propose one.
    """

    name: str
    description: str = ""
    inputs: list[str] = Field(min_length=1)
    outputs: list[str] = Field(min_length=1)
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    metric: MetricSpec | None = None
    model: ModelSpec = Field(default_factory=ModelSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    freeze: list[str] = Field(default_factory=list)
    tools: str | None = None
    graph: GraphSpec | None = None

    @field_validator("fields", mode="before")
    @classmethod
    def _field_shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {name: {"description": spec} if isinstance(spec, str) else spec for name, spec in value.items()}
        return value

    @model_validator(mode="after")
    def _tools_need_a_module(self) -> Spec:
        for i, layer in enumerate(self.graph.layers if self.graph else []):
            for j, agent in enumerate(layer.agents):
                if agent.tools and not self.tools:
                    where = f"graph.layers.{i}.agents.{j}.tools"
                    raise ValueError(f"{where}: names tools, but the spec has no `tools:` module")
        return self

    def descriptions(self) -> dict[str, str]:
        return {name: spec.description for name, spec in self.fields.items() if spec.description}

    def choices(self) -> dict[str, list[str]]:
        return {name: list(spec.choices) for name, spec in self.fields.items() if spec.choices}

    @field_validator("metric", mode="before")
    @classmethod
    def _metric_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("model", mode="before")
    @classmethod
    def _model_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    if not first["loc"] and first["type"] == "value_error":  # a whole-spec check names its own field
        return str(first["ctx"]["error"])
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return f"{where}: {first['msg']}"


def load_spec(path: str | Path) -> Spec:
    """Read and validate a YAML spec.

    Args:
        path: The spec file.

    Returns:
        The validated spec.

    Raises:
        ConfigError: The file is missing, is not YAML, or does not match the spec schema; the
            message is one line naming the file and the line or field.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read spec ({exc.strerror or exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{line}: invalid YAML ({problem})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a spec must be a mapping with name, inputs, outputs and graph")
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc)}") from exc
    return with_paths_from(spec, path.parent)


def with_paths_from(spec: Spec, folder: Path) -> Spec:
    """The spec with its file references (the tools module) made absolute, read from ``folder``."""
    if spec.tools is None:
        return spec
    return spec.model_copy(update={"tools": str((folder / spec.tools).resolve())})


def with_paths_relative_to(spec: Spec, folder: Path) -> Spec:
    """The spec with its file references relative to ``folder``, so a saved file can move with them."""
    if spec.tools is None:
        return spec
    return spec.model_copy(update={"tools": os.path.relpath(spec.tools, folder.resolve())})


def save_spec(spec: Spec, path: str | Path) -> None:
    """Write a spec as YAML (defaults left out), atomically."""
    spec = with_paths_relative_to(spec, Path(path).parent)
    text = yaml.safe_dump(spec.model_dump(mode="json", exclude_defaults=True), sort_keys=False, width=100)
    atomic_write_text(Path(path), text)
