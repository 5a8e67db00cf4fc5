"""AnnAdapter: a DSPy adapter that frames an agent's call plainly and parses the reply strictly.

With one plain-text output field the reply *is* the field (plain text, no markup to get wrong).
With several, or with choices or a declared type (``ann.field_types``), the reply is a JSON
object; the backend is asked to constrain it to a JSON Schema (grammar-enforced on llama.cpp),
derived from the signature's annotations, and the parser checks every value against it.
"""

from __future__ import annotations

import json
from typing import Any, Literal, get_args, get_origin

import dspy

from ann.field_types import annotation_schema, typed_value
from ann.prompts import (
    AGENT_SYSTEM,
    INPUT_FIELD,
    REPLY_CHOICES,
    REPLY_JSON,
    REPLY_JSON_KEY,
    REPLY_TEXT,
    REPLY_TYPE,
    TYPE_NAMES,
)
from ann.render import render
from ann.replies import field_label, parse_json_object, parse_reply

__all__ = ["AnnAdapter", "field_label", "output_choices", "output_schema", "output_schemas", "parse_json_object",
           "parse_reply", "wants_json"]  # fmt: skip

_TEXT = {"type": "string"}


def output_choices(signature: type[dspy.Signature]) -> dict[str, list[str]]:
    """Output fields restricted to a fixed set of values (annotated ``Literal[...]``)."""
    return {
        name: [str(value) for value in get_args(field.annotation)]
        for name, field in signature.output_fields.items()
        if get_origin(field.annotation) is Literal
    }


def output_schemas(signature: type[dspy.Signature]) -> dict[str, dict[str, Any]]:
    """Each output field's JSON Schema, from its annotation (``Literal``, ``float``, a pattern, …)."""
    return {
        name: annotation_schema(field.annotation, field.metadata) for name, field in signature.output_fields.items()
    }


def wants_json(signature: type[dspy.Signature], *, json_reply: bool = False) -> bool:
    """A reply is JSON when asked for, when there are several outputs, or when one is more than plain text.

    A typed or labelled single output is JSON too, so the grammar can hold it to its type or choices.
    """
    return json_reply or len(signature.output_fields) > 1 or any(s != _TEXT for s in output_schemas(signature).values())


def output_schema(signature: type[dspy.Signature], *, json_reply: bool = False) -> dict[str, Any] | None:
    """The JSON Schema of a reply, or None when the reply is plain text."""
    if not wants_json(signature, json_reply=json_reply):
        return None
    return {
        "type": "object",
        "properties": output_schemas(signature),
        "required": list(signature.output_fields),
        "additionalProperties": False,
    }


def _kind(schema: dict[str, Any]) -> str:
    """What a JSON key line adds about its value: its choices, or its type in words."""
    if "enum" in schema:
        return render(REPLY_CHOICES, values=", ".join(schema["enum"]))
    return "" if schema == _TEXT else render(REPLY_TYPE, kind=_type_name(schema))


def _type_name(schema: dict[str, Any]) -> str:
    """A JSON Schema type in words, e.g. ``a date as YYYY-MM-DD``."""
    if "pattern" in schema:
        return render(TYPE_NAMES["pattern"], pattern=schema["pattern"])
    if schema.get("format") == "date":
        return TYPE_NAMES["date"]
    if schema.get("type") == "array":
        return render(TYPE_NAMES["array"], items=_type_name(schema.get("items", _TEXT)))
    return TYPE_NAMES.get(schema.get("type", "string"), TYPE_NAMES["string"])


def _description(field: Any) -> str:
    desc = (field.json_schema_extra or {}).get("desc", "") if field is not None else ""
    # DSPy fills an absent description with "${name}"; that placeholder is no description.
    return "" if not desc or desc.startswith("${") else desc


class AnnAdapter(dspy.Adapter):
    """Formats a signature into plain chat messages and parses the reply back into fields.

    Usable on its own by ann's agents, or inside DSPy (``dspy.configure(adapter=AnnAdapter())``)
    when a trained graph is exported as a DSPy program.

    Args:
        json_reply: Ask for a JSON object even for one output field — for the optimizer's own
            calls, where a preamble ("Sure! Here are the new instructions:") must not leak into
            the value.
    """

    def __init__(self, *, json_reply: bool = False) -> None:
        super().__init__()
        self.json_reply = json_reply

    def format(
        self, signature: type[dspy.Signature], demos: list[dict[str, Any]], inputs: dict[str, Any]
    ) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": self.system_message(signature)}]
        for demo in demos:
            messages.append({"role": "user", "content": self.user_message(signature, demo)})
            messages.append({"role": "assistant", "content": self.reply_text(signature, demo)})
        messages.append({"role": "user", "content": self.user_message(signature, inputs)})
        return messages

    def system_message(self, signature: type[dspy.Signature]) -> str:
        outputs = list(signature.output_fields)
        if not wants_json(signature, json_reply=self.json_reply):
            desc = _description(signature.output_fields[outputs[0]])
            reply = render(REPLY_TEXT, output=field_label(outputs[0]).lower(), description=f" ({desc})" if desc else "")
        else:
            schemas = output_schemas(signature)
            keys = "\n".join(
                render(
                    REPLY_JSON_KEY,
                    name=name,
                    description=_description(field) or field_label(name),
                    kind=_kind(schemas[name]),
                )
                for name, field in signature.output_fields.items()
            )
            reply = render(REPLY_JSON, keys=keys)
        return render(AGENT_SYSTEM, instructions=signature.instructions.strip(), reply_format=reply).strip()

    def user_message(self, signature: type[dspy.Signature], values: dict[str, Any]) -> str:
        names = list(signature.input_fields)
        if len(names) == 1:
            return str(values.get(names[0], ""))
        return "\n\n".join(
            render(INPUT_FIELD, label=field_label(name), value=str(values.get(name, ""))) for name in names
        )

    def reply_text(self, signature: type[dspy.Signature], values: dict[str, Any]) -> str:
        outputs = list(signature.output_fields)
        if not wants_json(signature, json_reply=self.json_reply):
            return str(values.get(outputs[0], ""))
        schemas = output_schemas(signature)
        return json.dumps({name: _demo_value(values.get(name, ""), schemas[name]) for name in outputs},
                          ensure_ascii=False)  # fmt: skip

    def parse(self, signature: type[dspy.Signature], completion: str) -> dict[str, Any]:
        return parse_reply(
            list(signature.output_fields),
            completion,
            json_reply=wants_json(signature, json_reply=self.json_reply),
            schema=output_schema(signature, json_reply=self.json_reply),
        )


def _demo_value(value: Any, schema: dict[str, Any]) -> Any:
    """A demo's value as the schema has the model write it (a labelled ``"42"`` as the number 42)."""
    if schema == _TEXT or "enum" in schema:
        return str(value)
    try:
        return typed_value(value, schema)
    except ValueError:  # a demo that does not fit is still shown, as the text it is
        return str(value)
