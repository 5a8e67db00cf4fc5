"""A throwaway PostgreSQL cluster on 127.0.0.1, for the multi-worker search tests and benchmark.

It never touches a cluster the machine already runs: its own data dir, port and socket dir.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NOBODY = 65534  # initdb refuses to run as root; the cluster then belongs to this user


def postgres_bin() -> Path | None:
    """The folder with initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a cluster in a temp dir (trust auth, loopback only); yield its SQLAlchemy URL; remove it.

    Raises:
        RuntimeError: PostgreSQL's programs are not installed.
        subprocess.CalledProcessError: initdb or pg_ctl failed.
    """
    folder = postgres_bin()
    if folder is None:
        raise RuntimeError("PostgreSQL is not installed: `make postgres` installs it from the distribution")
    root = Path(tempfile.mkdtemp(prefix="ann-pg-"))
    as_user: list[str] = []
    if os.getuid() == 0:
        os.chown(root, NOBODY, NOBODY)
        as_user = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    data, log, port = root / "data", root / "server.log", _free_port()
    env = {**os.environ, "LC_ALL": "C"}
    try:
        subprocess.run([*as_user, str(folder / "initdb"), "-D", str(data), "-U", "ann", "--auth=trust", "-E", "UTF8"],
                       check=True, capture_output=True, env=env, cwd=root)  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        start = [str(folder / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]
        subprocess.run([*as_user, *start], check=True, capture_output=True, env=env, cwd=root)
        yield f"postgresql://ann@127.0.0.1:{port}/postgres"
    finally:
        if data.exists():
            subprocess.run([*as_user, str(folder / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, env=env, cwd=root)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
