"""Atomic writes: a reader sees the old file or the new one, never a part; a failed write leaves no trace."""

import os
import stat
from pathlib import Path

import pytest

from ann.io import atomic_write_bytes, atomic_write_text


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
