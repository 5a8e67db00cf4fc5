"""Regenerate the published JSON Schemas: spec-v1.schema.json and bundle-v1.schema.json.

Run after any change to ann/bundle.py or the spec models: `.venv/bin/python schema/make_schema.py`.
tests/test_schemas.py fails while a committed file differs from what the models give.
"""

from __future__ import annotations

from pathlib import Path

from ann.schemas import SCHEMA_FILES
from ann.schemas import schema_text as published_text

SCHEMA_DIR = Path(__file__).resolve().parent
SCHEMA_PATH = SCHEMA_DIR / SCHEMA_FILES["bundle"]


def schema_text(kind: str = "bundle") -> str:
    """The schema file's exact text: indented, keys sorted, one trailing newline."""
    return published_text(kind)


def main() -> None:
    for kind, name in SCHEMA_FILES.items():
        (SCHEMA_DIR / name).write_text(schema_text(kind), encoding="utf-8")
        print(f"wrote {SCHEMA_DIR / name}")


if __name__ == "__main__":
    main()
