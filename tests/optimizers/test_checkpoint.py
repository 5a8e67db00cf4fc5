"""Checkpoints: a damaged one (a crash mid-write, a bad copy, an edit) is one line naming the file, never loaded."""

import json
from pathlib import Path

import pytest

from ann.errors import ConfigError
from ann.optimizers.checkpoint import load_checkpoint, save_checkpoint

FINGERPRINT = {"train": "abc", "val": "def", "seed": 0, "batch_size": 2}
STATE = {
    "fingerprint": FINGERPRINT, "position": {"epoch": 0, "batch": 1}, "bad_steps": 0, "baseline_score": 0.0,
    "best_score": 0.5, "best_state": {"solve.agent.instructions": "Solve."}, "best_scores": [0.0, 1.0],
    "initial": {"state": {}, "structure": [], "scores": [0.0, 0.0]}, "draft_done": True, "optimizer": {},
    "history": [], "param_history": {}, "spent": {}, "seconds": 1.5, "demo_pool": {}, "draft": [], "holdout": None,
}  # fmt: skip


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "checkpoint.json"
    save_checkpoint(path, STATE)
    return path


def test_a_saved_checkpoint_loads(saved: Path) -> None:
    assert load_checkpoint(saved, FINGERPRINT) == {"version": 1, **STATE}
    assert [p.name for p in saved.parent.iterdir()] == ["checkpoint.json"]  # no temp file left behind


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.99])
def test_a_truncated_checkpoint_is_reported_naming_the_file(saved: Path, keep: float) -> None:
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ConfigError, match="unreadable or truncated checkpoint") as caught:
        load_checkpoint(saved, FINGERPRINT)
    assert str(caught.value).startswith(f"{saved}: ") and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00garbage", "unreadable or truncated checkpoint"),
        (b"[1, 2]", "not a checkpoint \\(a JSON list, not an object\\)"),
        (b'{"version": 7}', "checkpoint format 7 is not 1"),
        (json.dumps({"version": 1, **STATE, "history": None}).encode(), "damaged checkpoint: history missing"),
        (json.dumps({"version": 1, "fingerprint": FINGERPRINT}).encode(), "damaged checkpoint: position, bad_steps"),
    ],
)
def test_a_damaged_checkpoint_is_one_line_naming_the_file(saved: Path, content: bytes, message: str) -> None:
    saved.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as caught:
        load_checkpoint(saved, FINGERPRINT)
    assert str(caught.value).startswith(f"{saved}: ") and "\n" not in str(caught.value)


def test_another_runs_checkpoint_is_refused(saved: Path) -> None:
    with pytest.raises(ConfigError, match="made with different seed"):
        load_checkpoint(saved, {**FINGERPRINT, "seed": 1})
