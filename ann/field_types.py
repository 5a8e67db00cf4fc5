"""Typed fields: the annotation a declared type becomes, its JSON Schema, and the one check of a value.

A spec field's ``type:`` travels to the agent as its signature's annotation (``float``, ``int``,
``bool``, ``datetime.date``, ``list[...]``; a pattern as ``Annotated[str, StringConstraints]``;
choices as ``Literal``), so an exported DSPy program declares the same types. The reply's JSON
Schema is derived from the annotation, and the reply is checked against that schema by
`typed_value`, plain Python that the standalone export copies as it is.

Downstream a typed value is a JSON value: a number is an int or a float, an integer an int, a
boolean a bool, a date its ISO text ``YYYY-MM-DD`` (JSON has no date), a list a list of these.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin

if TYPE_CHECKING:
    from ann.spec import FieldSpec

__all__ = ["anchored", "annotation", "annotation_schema", "typed_value", "value_problem"]

_PYTHON: dict[str, Any] = {"text": str, "number": float, "integer": int, "boolean": bool, "date": datetime.date}
_SCHEMA: dict[Any, dict[str, str]] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    datetime.date: {"type": "string", "format": "date"},
}


def anchored(pattern: str) -> str:
    """A pattern that must match the whole value (llama.cpp's grammar also needs ``^…$``)."""
    return pattern if pattern.startswith("^") and pattern.endswith("$") else f"^({pattern})$"


def annotation(field: FieldSpec) -> Any:
    """The Python annotation of a field's declared type, choices or pattern (``str`` when plain text)."""
    if field.choices:
        return Literal[tuple(field.choices)]
    if field.type == "list":
        item = _PYTHON[field.items or "text"]
        return list[item]  # type: ignore[valid-type]
    if field.pattern is not None:
        from pydantic import StringConstraints  # only typed specs pay for importing pydantic here

        return Annotated[str, StringConstraints(pattern=anchored(field.pattern))]
    return _PYTHON[field.type]


def annotation_schema(annotation: Any, metadata: list[Any] | tuple[Any, ...] = ()) -> dict[str, Any]:
    """The JSON Schema of a value with this annotation; ``metadata`` is pydantic's (where a pattern lands).

    An annotation ann does not know (a DSPy user's own class) is asked for as text.
    """
    origin = get_origin(annotation)
    if origin is Literal:
        return {"type": "string", "enum": [str(value) for value in get_args(annotation)]}
    if origin is list:
        args = get_args(annotation)
        return {"type": "array", "items": annotation_schema(args[0] if args else str)}
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return annotation_schema(base, [*metadata, *extra])
    if annotation in _SCHEMA:
        return dict(_SCHEMA[annotation])
    pattern = next((item.pattern for item in metadata if getattr(item, "pattern", None)), None)
    return {"type": "string", "pattern": pattern} if pattern else {"type": "string"}


def typed_value(value: Any, schema: dict[str, Any]) -> Any:
    """``value`` as the JSON value its JSON Schema property asks for.

    Lenient where a model is not held to a grammar: a number, boolean or list may come as its JSON
    text (``"42"``, ``"true"``), and a choice in any case and spacing (the choice as declared is
    returned). A plain text field takes any value, a non-text one as its JSON text.

    Raises:
        ValueError: The value does not fit; the message says how (``must be a number, got 'ten'``).
    """
    kind = schema.get("type")
    wanted = {"number": "a number", "integer": "an integer", "boolean": "true or false", "array": "a list"}
    if kind in wanted and isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"must be {wanted[kind]}, got {value[:60]!r}") from None
    if kind in wanted:
        if kind == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)
        fits = {
            "number": isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "array": isinstance(value, list),
        }[kind]
        if not fits:
            raise ValueError(f"must be {wanted[kind]}, got {json.dumps(value)[:60]}")
        if kind != "array":
            return value
        items = []
        for i, item in enumerate(value):
            try:
                items.append(typed_value(item, schema.get("items", {})))
            except ValueError as exc:
                raise ValueError(f"item {i} {exc}") from None
        return items
    text = value if isinstance(value, str) else json.dumps(value)
    if "enum" in schema:
        match = [choice for choice in schema["enum"] if choice.casefold() == text.strip().casefold()]
        if not match:
            raise ValueError(f"must be one of {schema['enum']}, got {text[:60]!r}")
        return match[0]
    if schema.get("format") == "date":
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
                raise ValueError(text)
            datetime.date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"must be a date as YYYY-MM-DD, got {text[:60]!r}") from None
        return text.strip()
    if "pattern" in schema and not re.search(schema["pattern"], text):
        raise ValueError(f"must match the pattern {schema['pattern']!r}, got {text[:60]!r}")
    return text


def value_problem(value: Any, field: FieldSpec) -> str | None:
    """What is wrong with ``value`` for a field's declared type and choices, or None when it fits.

    Args:
        value: A field's value, e.g. an agent's output.
        field: The field as the spec declares it.

    Returns:
        One line, e.g. ``must be a number, got 'ten'``; None when `typed_value` would accept it.
    """
    try:
        typed_value(value, annotation_schema(annotation(field)))
    except ValueError as exc:
        return str(exc)
    return None
