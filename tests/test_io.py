"""Atomic writes: a reader sees the old file or the new one, never a part; a failed write leaves no trace."""

import os
import stat
import threading
from pathlib import Path

import pytest

from ann.io import atomic_write_bytes, atomic_write_text, remove_stale_temps


def test_a_write_replaces_the_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "bundle.json"
    atomic_write_text(path, "old")
    atomic_write_text(path, "néw\n")
    assert path.read_bytes() == "néw\n".encode()
    assert [p.name for p in path.parent.iterdir()] == ["bundle.json"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_write_that_fails_before_the_rename_keeps_the_old_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "checkpoint.json"
    atomic_write_bytes(path, b"old")

    def fail(src, dst):
        assert Path(src).read_bytes() == b"new"  # the whole new text is in the temp file beside the target
        assert Path(src).parent == path.parent and Path(src).name.startswith(".checkpoint.json.")
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.json"]


def test_remove_stale_temps_clears_only_what_an_interrupted_write_leaves(tmp_path: Path) -> None:
    stale = [tmp_path / ".bundle.json.ab12_x9z.tmp", tmp_path / ".history.jsonl.q1w2e3r4.tmp"]
    kept = [tmp_path / ".notes.tmp", tmp_path / "bundle.json", tmp_path / "mine.ab12_x9z.tmp"]
    for path in stale + kept:
        path.write_text("x")
    assert remove_stale_temps(tmp_path) == sorted(stale)
    assert [path for path in stale + kept if path.exists()] == kept


def test_a_write_to_a_pipe_or_device_goes_in_place_and_leaves_it_one(tmp_path: Path) -> None:
    # `ann export --out /dev/null` once renamed a file over the machine's /dev/null
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()))
    reader.start()
    atomic_write_bytes(pipe, b"graph TD")
    reader.join(timeout=10)
    assert received == [b"graph TD"]
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]  # no temp file beside it
