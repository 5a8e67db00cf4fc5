"""The published JSON Schemas of ann's files, as `ann schema` prints them and ``schema/`` holds them."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["SCHEMA_FILES", "schema_text"]

# The file under schema/ that publishes each schema; tests/test_schemas.py checks they match the models.
SCHEMA_FILES = {"spec": "spec-v1.schema.json", "bundle": "bundle-v1.schema.json"}


def _schema(kind: str) -> dict[str, Any]:
    # Only the models of the schema asked for are imported: the spec's are the cheaper.
    if kind == "spec":
        from ann.spec import spec_schema

        return spec_schema()
    from ann.bundle import bundle_schema

    return bundle_schema()


def schema_text(kind: str) -> str:
    """A schema's exact published text: indented, keys sorted, one trailing newline.

    Args:
        kind: ``spec`` or ``bundle``.

    Raises:
        ValueError: ``kind`` names no schema.
    """
    if kind not in SCHEMA_FILES:
        raise ValueError(f"no schema named {kind!r}; choose one of {sorted(SCHEMA_FILES)}")
    return json.dumps(_schema(kind), indent=2, sort_keys=True) + "\n"
