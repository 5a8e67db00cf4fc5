"""Training checkpoints: everything needed to resume a run, written atomically after every step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ann.errors import ConfigError
from ann.io import atomic_write_text

CHECKPOINT_VERSION = 1


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps({"version": CHECKPOINT_VERSION, **state}, ensure_ascii=False, indent=1))


def load_checkpoint(path: Path, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """Read a checkpoint and check it belongs to this run (same data, seed and batch size).

    Raises:
        ConfigError: No readable checkpoint, another format version, or another run's checkpoint.
    """
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no checkpoint to resume from") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable checkpoint ({exc})") from exc
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
        raise ConfigError(f"{path}: checkpoint format {state.get('version')!r} is not {CHECKPOINT_VERSION}")
    saved = state.get("fingerprint", {})
    differs = sorted(key for key in fingerprint if saved.get(key) != fingerprint[key])
    if differs:
        raise ConfigError(
            f"{path}: checkpoint was made with different {', '.join(differs)}; start afresh without --resume"
        )
    return state
