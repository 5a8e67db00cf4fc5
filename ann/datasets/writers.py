"""Write a dataset's splits as JSONL files (for example generators), shuffled and with stable ids."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from ann.io import atomic_write_text


def write_splits(folder: Path, splits: dict[str, list[dict[str, Any]]], rng: random.Random) -> None:
    """Shuffle each split with ``rng`` and write ``folder/<split>.jsonl`` with ids ``<split>-00``…"""
    for name, rows in splits.items():
        rows = list(rows)
        rng.shuffle(rows)
        lines = [json.dumps({"id": f"{name}-{i:02d}", **row}) + "\n" for i, row in enumerate(rows)]
        atomic_write_text(folder / f"{name}.jsonl", "".join(lines))
