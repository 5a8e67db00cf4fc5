"""Regenerate bundle-v1.schema.json, the published JSON Schema of bundle files.

Run after any change to ann/bundle.py or the spec models: `.venv/bin/python schema/make_schema.py`.
tests/test_bundle.py fails while the committed file differs from ``bundle_schema()``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ann.bundle import bundle_schema

SCHEMA_PATH = Path(__file__).resolve().parent / "bundle-v1.schema.json"


def schema_text() -> str:
    """The schema file's exact text: indented, keys sorted, one trailing newline."""
    return json.dumps(bundle_schema(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")


if __name__ == "__main__":
    main()
