"""The published JSON Schemas of ann's files, as `ann schema` prints them and ``schema/`` holds them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["SCHEMA_FILES", "schema_text"]

# The file under schema/ that publishes each schema; tests/test_schemas.py checks they match the models.
SCHEMA_FILES = {"spec": "spec-v1.schema.json", "bundle": "bundle-v1.schema.json"}


def _builders() -> dict[str, Callable[[], dict[str, Any]]]:
    from ann.bundle import bundle_schema
    from ann.spec import spec_schema

    return {"spec": spec_schema, "bundle": bundle_schema}


def schema_text(kind: str) -> str:
    """A schema's exact published text: indented, keys sorted, one trailing newline.

    Args:
        kind: ``spec`` or ``bundle``.

    Raises:
        ValueError: ``kind`` names no schema.
    """
    builders = _builders()
    if kind not in builders:
        raise ValueError(f"no schema named {kind!r}; choose one of {sorted(builders)}")
    return json.dumps(builders[kind](), indent=2, sort_keys=True) + "\n"
