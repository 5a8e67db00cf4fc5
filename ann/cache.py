"""CallCache: an on-disk cache of LLM replies keyed on the whole request, stored as JSON text.

The key covers the model, the messages, every sampling setting and the sample index, so a
changed prompt never returns a stale reply and N samples of a vote stay N distinct calls.

The store is one SQLite table of JSON strings, read back through a pydantic model: nothing in
it is ever unpickled or executed, and an entry that is corrupt, tampered with or of the wrong
shape is a cache miss. A damaged database file turns the cache off with one warning; the run
goes on calling the model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["CachedReply", "CallCache", "default_cache_dir", "request_key"]

logger = logging.getLogger(__name__)

_DATABASE = "replies.sqlite3"


def default_cache_dir() -> Path:
    """The per-user cache directory (``~/.cache/ann/calls`` on Linux)."""
    return Path(platformdirs.user_cache_dir("ann")) / "calls"


def request_key(request: dict[str, Any]) -> str:
    """A stable digest of a request; secrets must not be in ``request``."""
    blob = json.dumps(request, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class CachedReply(BaseModel):
    """What the cache keeps of one reply: the text and its token counts."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: str
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)


class CallCache:
    """A disk-backed map from request digest to the reply and its usage.

    Safe to share between threads of one process and between processes (SQLite's locking).

    Args:
        directory: Where the cache lives; created on first use, not at construction.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._broken = False

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached reply for `key` as a dict, or None (absent, unreadable or malformed)."""
        row = self._execute("SELECT value FROM replies WHERE key = ?", (key,))
        if row is None:
            return None
        try:
            return CachedReply.model_validate_json(row[0]).model_dump()
        except (ValidationError, TypeError):
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store a reply; a value that is not a valid `CachedReply` raises ValueError."""
        reply = CachedReply.model_validate(value)
        self._execute("INSERT OR REPLACE INTO replies (key, value) VALUES (?, ?)", (key, reply.model_dump_json()))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _execute(self, sql: str, parameters: tuple[str, ...]) -> tuple[Any, ...] | None:
        with self._lock:
            if self._broken:
                return None
            try:
                db = self._open()
                with db:
                    return db.execute(sql, parameters).fetchone()
            except sqlite3.DatabaseError as e:
                self._broken = True
                logger.warning("call cache %s is unreadable (%s); running without it", self.directory / _DATABASE, e)
                return None

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.directory / _DATABASE, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db = db
        return self._db
