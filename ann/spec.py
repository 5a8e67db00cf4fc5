"""The YAML spec: a graph, its task, its metric and its model, validated by pydantic.

A spec error is reported as one line naming the file and the field path, e.g.
``spec.yaml: graph.layers.0.agents: at least one agent is needed``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator

from ann.errors import ConfigError
from ann.io import atomic_write_text
from ann.search.space import SearchSpec
from ann.strict_model import StrictModel

# A spec's YAML may use anchors and aliases; this many values, with aliases expanded, is far more
# than any real spec has, and small enough that a "billion laughs" file fails at once.
MAX_VALUES = 100_000
MAX_DEPTH = 64  # nesting; pydantic cannot even write out much deeper values

# libyaml parses in C, fast and with its own nesting limit; PyYAML's own parser is the fallback.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _unique(names: list[str]) -> list[str]:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{name!r} is named twice")
        seen.add(name)
    return names


_Names = Annotated[list[str], AfterValidator(_unique)]


class AgentSpec(StrictModel):
    name: str
    role: str = ""
    instructions: str = ""
    tools: _Names = Field(default_factory=list)


class LayerSpec(StrictModel):
    name: str
    inputs: _Names
    outputs: _Names = Field(min_length=1)
    aggregator: str = "single"
    agents: list[AgentSpec] = Field(min_length=1)
    samples: int = Field(default=1, ge=1)
    temperature: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    options: dict[str, Any] = Field(default_factory=dict)


class GraphSpec(StrictModel):
    layers: list[LayerSpec] = Field(min_length=1)


ScalarType = Literal["text", "number", "integer", "boolean", "date"]


class FieldSpec(StrictModel):
    """A field's description and what its value may be: a type, a pattern, or for labels a list of choices.

    A declared type (anything but plain text) is sent as the reply's JSON Schema, so a grammar
    enforces it, and the reply is checked against it (``ann.field_types``).
    """

    description: str = ""
    type: Literal["text", "number", "integer", "boolean", "date", "list"] = "text"
    items: ScalarType | None = Field(default=None, description="the type of a list's items (text unless given)")
    pattern: str | None = Field(default=None, description="a regular expression a text value matches whole")
    choices: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _type_fits(self) -> FieldSpec:
        if self.items is not None and self.type != "list":
            raise ValueError(f"`items: {self.items}` is only for `type: list`, not `type: {self.type}`")
        if self.pattern is not None:
            if self.type != "text":
                raise ValueError(f"`pattern:` is only for text, not `type: {self.type}`")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"`pattern: {self.pattern}` is not a valid regular expression ({exc})") from None
        if self.choices and (self.type != "text" or self.pattern is not None):
            raise ValueError("`choices:` are for plain text fields; drop `type:` or `pattern:`")
        return self

    @property
    def typed(self) -> bool:
        """Whether the field declares more than plain text (choices have their own channel)."""
        return self.type != "text" or self.pattern is not None


class MetricSpec(StrictModel):
    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class ModelSpec(StrictModel):
    """Model settings; flags and environment variables override them."""

    name: str | None = None
    api_base: str | None = None
    temperature: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    max_tokens: int = Field(default=512, ge=1)


class TrainSpec(StrictModel):
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


class Spec(StrictModel):
    """A whole task: what goes in, what comes out, how it is scored, and the graph that does it.

    With no ``graph``, `ann plan` or `ann compile` has a planner model propose one.
    """

    name: str
    description: str = ""
    inputs: _Names = Field(min_length=1)
    outputs: _Names = Field(min_length=1)
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    metric: MetricSpec | None = None
    model: ModelSpec = Field(default_factory=ModelSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    freeze: list[str] = Field(default_factory=list)
    tools: str | None = None
    graph: GraphSpec | None = None
    search: SearchSpec | None = None

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

    def types(self) -> dict[str, FieldSpec]:
        """The fields with a declared type or pattern."""
        return {name: spec for name, spec in self.fields.items() if spec.typed}

    @field_validator("metric", mode="before")
    @classmethod
    def _metric_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("model", mode="before")
    @classmethod
    def _model_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


def spec_schema() -> dict[str, Any]:
    """The JSON Schema of spec files (published as ``schema/spec-v1.schema.json``).

    It accepts the loader's shorthands too: a field as its description alone
    (``ticket: a customer's message``), and a metric or a model as its name alone (``metric: exact_match``).
    """
    schema = Spec.model_json_schema()
    schema["title"] = "ann spec, version 1"
    props = schema["properties"]
    fields = props["fields"]["additionalProperties"]
    props["fields"]["additionalProperties"] = {"anyOf": [fields, {"type": "string"}]}
    props["metric"]["anyOf"].insert(1, {"type": "string", "description": "a metric's name, e.g. exact_match"})
    props["model"] = {"anyOf": [props["model"], {"type": "string", "description": "a LiteLLM model string"}]}
    return schema


def describe_validation_error(error: ValidationError) -> str:
    """The first problem pydantic found, as ``field.path: what is wrong`` on one line."""
    first = error.errors()[0]
    if not first["loc"] and first["type"] == "value_error":  # a whole-spec check names its own field
        return str(first["ctx"]["error"])
    where = ".".join(_loc_part(part) for part in first["loc"]) or "(top level)"
    return f"{where}: {first['msg']}"


def _loc_part(part: int | str) -> str:
    """A field name as written, or quoted when it is a key a user made up that is not a plain name."""
    text = str(part)
    if text.isidentifier() or text.isdigit():
        return text
    return repr(text if len(text) <= 60 else text[:59] + "…")


def read_text_file(path: Path, what: str) -> str:
    """A whole UTF-8 file (a leading byte-order mark is dropped).

    Raises:
        ConfigError: The file cannot be read or is not UTF-8; one line naming the file (and line).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what} ({exc.strerror or exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        raise ConfigError(f"{path}:{line}: not valid UTF-8 (byte 0x{byte:02x}); re-save it as UTF-8") from exc


class _SpecLoader(_YAML_LOADER):
    """PyYAML's safe loader (plain data only, no object tags), stricter about what users get wrong."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:  # e.g. a 5,000-digit number, the date 2024-13-45
            reason = str(exc).split(";")[0]  # not Python's advice on raising its own limits
            raise yaml.constructor.ConstructorError(None, None, f"cannot read this value: {reason}",
                                                    node.start_mark) from exc  # fmt: skip

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value if isinstance(node, yaml.MappingNode) else []:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue  # merged keys may be overridden; unhashable keys are the base class's error
            key = self.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def too_big(data: Any, *, max_values: int | None = MAX_VALUES) -> str | None:
    """What makes loaded YAML or JSON ``data`` too big to use, or None.

    Shared (aliased) parts count each time they appear, and a recursive structure
    (``a: &a [*a]``) is infinitely deep, so neither a "billion laughs" nor a loop gets through.
    """
    stack, count = [(data, 0)], 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if max_values is not None and count > max_values:
            return f"more than {max_values} values once its YAML aliases are expanded"
        if depth > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} deep"
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return None


def load_spec(path: str | Path) -> Spec:
    """Read and validate a YAML spec.

    Args:
        path: The spec file.

    Returns:
        The validated spec.

    Raises:
        ConfigError: The file is missing, is not UTF-8 or YAML, or does not match the spec schema;
            the message is one line naming the file and the line or field.
    """
    path = Path(path)
    text = read_text_file(path, "spec")
    try:
        data = yaml.load(text, Loader=_SpecLoader)  # a SafeLoader: plain data, no object tags
    except yaml.reader.ReaderError as exc:  # a control character; it has a position, not a mark
        # libyaml counts the position in bytes, PyYAML in characters
        before = text.encode("utf-8")[: exc.position] if _YAML_LOADER is not yaml.SafeLoader else text[: exc.position]
        line = before.count("\n" if isinstance(before, str) else b"\n") + 1
        raise ConfigError(f"{path}:{line}: invalid YAML (control character U+{exc.character:04X})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{line}: invalid YAML ({problem})") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: invalid YAML (nested too deeply)") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a spec must be a mapping with name, inputs, outputs and graph")
    problem = too_big(data)
    if problem:
        raise ConfigError(f"{path}: too large: {problem}")
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_validation_error(exc)}") from exc
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
