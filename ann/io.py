"""Atomic file writes: a crash mid-write never leaves a half-written bundle, trace or checkpoint.

Every file ann writes goes through here. The data goes to a temp file beside the target
(``.<name>.<random>.tmp``), is flushed to disk, and is then renamed over the target, so a reader
sees the old file or the new one, never a part. A kill mid-write can leave only a stray temp file,
which nothing reads and `remove_stale_temps` clears when the run resumes.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

# What tempfile.mkstemp(prefix=".<name>.", suffix=".tmp") makes: a dot, the name, 8 random characters.
_TEMP_NAME = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then rename it over ``path``.

    A target that exists and is not a regular file (``/dev/null``, ``/dev/stdout``, a named pipe)
    is written in place: renaming over it would replace a device with a file.
    """
    if path.exists() and not path.is_file():
        with path.open("wb") as handle:
            handle.write(data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; these are ordinary outputs
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8, atomically (see `atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temp files an interrupted `atomic_write_bytes` left in ``folder``; the ones removed.

    Only names of the exact temp pattern whose target sits beside them (or would) are touched,
    so a user's own ``.something.tmp`` stays.
    """
    removed = []
    for path in sorted(folder.glob(".*.tmp")):
        if path.is_file() and _TEMP_NAME.fullmatch(path.name):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _sync_folder(folder: Path) -> None:
    """Make the rename itself survive a power cut, where the system allows opening a folder."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
