"""dataset_hash: a stable digest of a dataset, so bundles and checkpoints say what data made them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from ann.datasets.example import Example


def dataset_hash(examples: Sequence[Example]) -> str:
    """SHA-256 over every example's id, inputs and expected fields, in order."""
    digest = hashlib.sha256()
    for example in examples:
        record = {"id": example.id, "inputs": example.inputs, "expected": example.expected}
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
        digest.update(b"\n")
    return f"sha256:{digest.hexdigest()}"
