"""run_python(): run untrusted, model-written Python in a locked-down subprocess.

What the child gets, and what it does not:

* A fresh interpreter (``sys.executable -I``: no ``PYTHON*`` variables, no user site, no script
  directory on ``sys.path``) in a new session, with a new temporary directory as cwd, HOME and
  TMPDIR, removed afterwards.
* A minimal environment: PATH, HOME, TMPDIR and LANG only. Nothing of the parent's environment
  is passed through, so API keys stay in the parent.
* Resource limits set by the child on itself before the user's code runs: CPU seconds, address
  space, size of files written, no core dumps, and (when not root, who is exempt) a cap on the
  number of processes.
* No network, in two layers. If the kernel allows it (root or CAP_SYS_ADMIN), the child moves to
  a new empty network namespace with ``unshare(CLONE_NEWNET)``, which covers subprocesses and C
  code too. Whether or not that works, a Python-level guard makes creating a socket or resolving
  a host name raise ``PermissionError``; that guard alone is not a security boundary against
  code that sets out to get around it.
* A wall-clock timeout, after which the whole process group is killed.

This is a guard against accidents and sloppy model code (infinite loops, memory blow-ups, stray
network calls, leaking secrets through the environment), not a jail for hostile code: the child
still sees the file system with the parent's user id.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ann.datasets.sandbox_child import SETUP_FAILED_EXIT, SETUP_FAILED_PREFIX
from ann.errors import SandboxError

__all__ = ["SandboxResult", "run_python"]

OUTPUT_LIMIT_BYTES = 4096
"""How much of stdout and stderr a result keeps: the first quarter and the last three quarters."""

_FILE_SIZE_LIMIT_BYTES = 32 * 1024 * 1024
_NPROC_HEADROOM = 64
_CHILD_SCRIPT = Path(__file__).with_name("sandbox_child.py")
_SOLUTION_NAME = "solution.py"
_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class SandboxResult:
    """What happened to one sandboxed run.

    Args:
        passed: The code exited with status 0 within the time limit.
        returncode: The exit status; negative for a signal (e.g. -9 when killed on timeout).
        stdout: Standard output, cut to `OUTPUT_LIMIT_BYTES` (head and tail kept).
        stderr: Standard error, cut the same way; tracebacks name the file ``solution.py``.
        timed_out: The wall-clock timeout or the CPU limit stopped the code.
        duration_s: Wall-clock seconds from start to exit.
    """

    passed: bool
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float


def run_python(code: str, *, timeout_s: float = 10, memory_mb: int = 512) -> SandboxResult:
    """Run Python source in a sandboxed subprocess and report how it went.

    Failing user code (an exception, a non-zero exit, a timeout, running out of memory) is a
    normal result with ``passed=False``, never an exception.

    Args:
        code: The program, run as ``__main__`` from a file named ``solution.py``.
        timeout_s: Wall-clock limit; the CPU-time limit is this rounded up plus one second.
        memory_mb: Address-space limit for the child. Python itself needs about 30 MB.

    Returns:
        A `SandboxResult`.

    Raises:
        SandboxError: The sandbox itself could not start (no interpreter, no temp directory,
            the child's lock-down failed).
        ValueError: `timeout_s` or `memory_mb` is not positive.

    Example:
        >>> run_python("print(1 + 1)").stdout
        '2\\n'
    """
    if not isinstance(timeout_s, int | float) or not timeout_s > 0 or not math.isfinite(timeout_s):
        raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    if isinstance(memory_mb, bool) or not isinstance(memory_mb, int) or memory_mb <= 0:
        raise ValueError(f"memory_mb must be a positive int, got {memory_mb!r}")
    if not sys.executable:
        raise SandboxError("cannot start the sandbox: sys.executable is empty")
    try:
        with tempfile.TemporaryDirectory(prefix="ann-sandbox-") as tmp:
            return _run_in(Path(tmp), code, timeout_s=timeout_s, memory_mb=memory_mb)
    except OSError as e:
        raise SandboxError(f"cannot set up the sandbox directory: {e}") from e


def _run_in(tmp: Path, code: str, *, timeout_s: float, memory_mb: int) -> SandboxResult:
    # The child's cwd is a subdirectory, so its own files do not sit next to our output files.
    work = tmp / "work"
    work.mkdir()
    (work / _SOLUTION_NAME).write_text(code, encoding="utf-8")
    limits = [
        str(math.ceil(timeout_s) + 1),
        str(memory_mb * 1024 * 1024),
        str(_FILE_SIZE_LIMIT_BYTES),
        str(_nproc_limit()),
    ]
    command = [sys.executable, "-I", "-X", "utf8", str(_CHILD_SCRIPT), *limits, _SOLUTION_NAME]
    env = {"PATH": _PATH, "HOME": str(work), "TMPDIR": str(work), "LANG": "C.UTF-8"}
    # Output goes to files, not pipes: a child printing in a loop cannot fill our memory, and
    # RLIMIT_FSIZE caps the files.
    with open(tmp / "stdout", "w+b") as out, open(tmp / "stderr", "w+b") as err:
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                command,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as e:
            raise SandboxError(f"cannot start the sandbox interpreter {sys.executable!r}: {e}") from e
        timed_out = False
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            # Also reaps anything the code left running in the background.
            _kill_group(proc.pid)
            proc.wait()
        duration_s = time.monotonic() - start
        stdout, stderr = _clip(out), _clip(err)
    if proc.returncode == SETUP_FAILED_EXIT and stderr.startswith(SETUP_FAILED_PREFIX):
        raise SandboxError(stderr.strip())
    timed_out = timed_out or proc.returncode == -signal.SIGXCPU
    return SandboxResult(
        passed=proc.returncode == 0 and not timed_out,
        returncode=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        duration_s=duration_s,
    )


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _clip(f: BinaryIO) -> str:
    """Read an output file, keeping its head and tail when it is longer than the limit."""
    size = os.fstat(f.fileno()).st_size
    f.seek(0)
    if size <= OUTPUT_LIMIT_BYTES:
        data = f.read()
    else:
        head_size = OUTPUT_LIMIT_BYTES // 4
        head = f.read(head_size)
        f.seek(size - (OUTPUT_LIMIT_BYTES - head_size))
        tail = f.read()
        cut = size - len(head) - len(tail)
        data = head + f"\n[... {cut} bytes cut ...]\n".encode() + tail
    return data.decode("utf-8", errors="replace")


def _nproc_limit() -> int:
    """A process cap for the child: what this user runs now plus headroom; 0 means none.

    RLIMIT_NPROC counts every thread of the user, not only the child's, so a fixed number could
    stop the child from starting at all. Root is exempt from the limit, so we skip it there.
    """
    uid = os.getuid()
    if uid == 0:
        return 0
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return 0
    tasks = 0
    for pid in pids:
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                tasks += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return tasks + _NPROC_HEADROOM
