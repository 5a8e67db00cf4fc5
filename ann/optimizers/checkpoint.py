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


# What resuming reads from a checkpoint, and the JSON type each must have.
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "fingerprint": dict, "position": dict, "bad_steps": int, "baseline_score": (int, float),
    "best_score": (int, float), "best_state": dict, "best_scores": list, "initial": dict, "draft_done": bool,
    "optimizer": dict, "history": list, "param_history": dict, "spent": dict, "seconds": (int, float),
}  # fmt: skip


def load_checkpoint(path: Path, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """Read a checkpoint and check it belongs to this run (same data, seed and batch size).

    Raises:
        ConfigError: No checkpoint; one that is unreadable, truncated (a crash mid-write) or lacks
            a field; another format version; or another run's checkpoint — one line naming the file.
    """
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no checkpoint to resume from") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable or truncated checkpoint ({exc})") from exc
    if not isinstance(state, dict):
        raise ConfigError(f"{path}: not a checkpoint (a JSON {type(state).__name__}, not an object)")
    if state.get("version") != CHECKPOINT_VERSION:
        raise ConfigError(f"{path}: checkpoint format {state.get('version')!r} is not {CHECKPOINT_VERSION}")
    bad = [key for key, kind in _FIELDS.items() if not isinstance(state.get(key), kind)]
    if bad:
        raise ConfigError(f"{path}: damaged checkpoint: {', '.join(bad)} missing or of the wrong type")
    saved = state["fingerprint"]
    differs = sorted(key for key in fingerprint if saved.get(key) != fingerprint[key])
    if differs:
        raise ConfigError(
            f"{path}: checkpoint was made with different {', '.join(differs)}; start afresh without --resume"
        )
    return state
