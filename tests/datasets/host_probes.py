"""Probes of the host, from outside any jail: processes by a marker in their command line, a socket's visitors."""

from __future__ import annotations

import socket
import time
from pathlib import Path


def processes_with(marker: str) -> list[str]:
    """Host processes whose command line holds `marker` (seen from outside any jail)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(entry.name)
    return found


def wait_until_gone(marker: str, seconds: float = 3) -> list[str]:
    deadline = time.monotonic() + seconds
    while (left := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def nobody_connected(server: socket.socket) -> bool:
    """Whether no one connected to a listening socket within its timeout."""
    try:
        conn, _ = server.accept()
    except TimeoutError:
        return True
    conn.close()
    return False
