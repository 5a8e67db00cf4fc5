"""Reading a model's reply: the one parser of replies, and field labels (no DSPy needed).

``ann.adapter`` frames calls for DSPy and re-exports these; code that only parses (the optimizer,
the planner, the tool loop) imports them from here, so that importing it does not import DSPy.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ann.errors import ParseError
from ann.field_types import typed_value

__all__ = ["field_label", "parse_json_object", "parse_reply"]

_FENCE = re.compile(r"^```(?:json)?\s*\n?(.*?)\n?```\s*$", re.DOTALL)


def field_label(name: str) -> str:
    """``final_answer`` → ``Final answer``."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def parse_json_object(text: str, *, expected: str) -> dict[str, Any]:
    """The JSON object in a reply (inside a code fence or surrounding prose, if any).

    Raises:
        ParseError: No JSON object found; the message says what was ``expected``.
    """
    fenced = _FENCE.match(text.strip())
    body = fenced.group(1) if fenced else text
    start, end = body.find("{"), body.rfind("}")
    try:
        # strict=False: llama.cpp's JSON grammar lets raw newlines into strings, which is still
        # the model's answer, not garbage.
        data = json.loads(body[start : end + 1], strict=False) if start >= 0 and end > start else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise ParseError(f"expected a JSON object {expected}, got: {text.strip()[:120]!r}", raw=text)
    return data


def parse_reply(
    output_fields: list[str],
    completion: str,
    *,
    json_reply: bool = False,
    schema: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Turn a reply into output fields.

    Args:
        output_fields: The fields the reply holds.
        completion: The model's reply.
        json_reply: The reply is a JSON object even for one field.
        schema: The JSON Schema the reply was asked to fit; each value is checked against its
            property and returned as `ann.field_types.typed_value` gives it (a choice as declared,
            a number as a number). Without one, every value is text.

    Raises:
        ParseError: The reply is empty; or (for JSON replies) not a JSON object holding every
            field; or a value that does not fit its field's type or choices. ``raw`` keeps the reply.
    """
    text = (completion or "").strip()
    if not text:
        raise ParseError("the model returned an empty reply", raw=completion or "")
    if len(output_fields) == 1 and not json_reply:
        return {output_fields[0]: text}
    data = parse_json_object(text, expected=f"with keys {output_fields}")
    missing = [name for name in output_fields if name not in data]
    if missing:
        raise ParseError(f"reply JSON lacks keys {missing}: {text[:120]!r}", raw=text)
    properties = (schema or {}).get("properties", {})
    values = {}
    for name in output_fields:
        try:
            values[name] = typed_value(data[name], properties.get(name, {}))
        except ValueError as exc:
            raise ParseError(f"'{name}' {exc}", raw=text) from None
    return values
