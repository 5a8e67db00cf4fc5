"""CallCache: an on-disk cache of LLM replies keyed on the whole request.

The key covers the model, the messages, every sampling setting and the sample index, so a
changed prompt never returns a stale reply and N samples of a vote stay N distinct calls.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import diskcache
import platformdirs


def default_cache_dir() -> Path:
    """The per-user cache directory (``~/.cache/ann/calls`` on Linux)."""
    return Path(platformdirs.user_cache_dir("ann")) / "calls"


def request_key(request: dict[str, Any]) -> str:
    """A stable digest of a request; secrets must not be in ``request``."""
    blob = json.dumps(request, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class CallCache:
    """A disk-backed map from request digest to the reply and its usage.

    Args:
        directory: Where the cache lives; created on first use, not at construction.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._store: diskcache.Cache | None = None

    def _open(self) -> diskcache.Cache:
        if self._store is None:
            self._store = diskcache.Cache(str(self.directory))
        return self._store

    def get(self, key: str) -> dict[str, Any] | None:
        value = self._open().get(key)
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._open().set(key, value)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
