"""run_python(): run untrusted, model-written Python in a jail and report how it went.

The jail is bubblewrap's (see `ann.datasets.isolation`): separate user, PID, network, IPC and
mount namespaces, a read-only view of the system, a private size-capped working directory, an
empty environment. Inside it, the runner (`ann.datasets.sandbox_child`) sets resource limits on
itself before the user's code runs: CPU seconds, address space, size of files written, no core
dumps, and a cap on the number of processes. A wall-clock timeout kills the whole tree.

A run passes only when the program ran to its last line: the runner writes a per-run nonce to a
private file descriptor after the program returns, so ``sys.exit(0)`` or ``os._exit(0)`` from
the code under test is a failure, not a pass.

Without bubblewrap, `run_python` raises `SandboxError` unless the user called
`permit_unsafe_code` (``--unsafe-code``): then the runner alone applies its limits, in a new
session with an empty environment and a Python-level network guard, which is no jail.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ann.datasets.isolation import JAIL_UID, JailLayout, isolation_problem, jail_command, unsafe_code_permitted
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
        passed: The program ran to its last line and exited with status 0 within the limits.
        returncode: The exit status; negative for a signal (e.g. -9 when killed on timeout).
        stdout: Standard output, cut to `OUTPUT_LIMIT_BYTES` (head and tail kept).
        stderr: Standard error, cut the same way; tracebacks name the file ``solution.py``.
        timed_out: The wall-clock timeout or the CPU limit stopped the code.
        duration_s: Wall-clock seconds from start to exit.
        completed: The program ran to its last line (the runner wrote the run's nonce); False
            when it exited early, crashed or was killed.
    """

    passed: bool
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float
    completed: bool = False


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
        SandboxError: The sandbox itself could not start (no bubblewrap and no
            `permit_unsafe_code`, no interpreter, no temp directory, the lock-down failed).
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
    problem = isolation_problem()
    if problem is not None and not unsafe_code_permitted():
        raise SandboxError(f"cannot run model-written code in isolation: {problem}")
    try:
        with tempfile.TemporaryDirectory(prefix="ann-sandbox-") as tmp:
            return _run_in(Path(tmp), code, timeout_s=timeout_s, memory_mb=memory_mb, jailed=problem is None)
    except OSError as e:
        raise SandboxError(f"cannot set up the sandbox directory: {e}") from e


def _run_in(tmp: Path, code: str, *, timeout_s: float, memory_mb: int, jailed: bool) -> SandboxResult:
    # Unjailed, the child's cwd is a subdirectory, so its files do not sit next to our output files;
    # jailed, only the program file is mounted (read-only) into the jail's own work dir.
    work = tmp if jailed else tmp / "work"
    work.mkdir(exist_ok=True)
    program = work / _SOLUTION_NAME
    program.write_text(code, encoding="utf-8")
    nonce = secrets.token_hex(16).encode()
    # Output goes to files, not pipes: a child printing in a loop cannot fill our memory, and
    # RLIMIT_FSIZE caps the files.
    with (
        open(tmp / "stdout", "w+b") as out,
        open(tmp / "stderr", "w+b") as err,
        open(tmp / "done", "w+b") as done,
    ):
        runner_argv = [
            str(math.ceil(timeout_s) + 1),
            str(memory_mb * 1024 * 1024),
            str(_FILE_SIZE_LIMIT_BYTES),
            str(_nproc_limit(JAIL_UID if jailed and os.geteuid() == 0 else os.getuid())),
            str(done.fileno()),
        ]
        command, cwd, env = _command(program, runner_argv, jailed=jailed)
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
                pass_fds=(done.fileno(),),
            )
        except OSError as e:
            raise SandboxError(f"cannot start the sandbox {command[0]!r}: {e}") from e
        timed_out = False
        try:
            _send_nonce(proc, nonce)
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            # Also reaps anything the code left running in the background.
            _kill_group(proc.pid)
            proc.wait()
        duration_s = time.monotonic() - start
        stdout, stderr = _clip(out), _clip(err)
        done.seek(0)
        completed = done.read(len(nonce) + 1) == nonce
    if proc.returncode == SETUP_FAILED_EXIT and stderr.startswith(SETUP_FAILED_PREFIX):
        raise SandboxError(stderr.strip())
    timed_out = timed_out or proc.returncode == -signal.SIGXCPU
    return SandboxResult(
        passed=completed and proc.returncode == 0 and not timed_out,
        returncode=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        duration_s=duration_s,
        completed=completed,
    )


def _command(program: Path, runner_argv: list[str], *, jailed: bool) -> tuple[list[str], Path, dict[str, str]]:
    """The command line, working directory and environment for one run, jailed or not."""
    if jailed:
        layout = JailLayout(runner=_CHILD_SCRIPT, program=program)
        env = {"PATH": _PATH, "HOME": layout.work_dir, "TMPDIR": "/tmp", "LANG": "C.UTF-8"}
        return jail_command(layout, [*runner_argv, program.name], env), program.parent, {"PATH": _PATH}
    work = program.parent
    env = {"PATH": _PATH, "HOME": str(work), "TMPDIR": str(work), "LANG": "C.UTF-8"}
    return [sys.executable, "-I", "-X", "utf8", str(_CHILD_SCRIPT), *runner_argv, program.name], work, env


def _send_nonce(proc: subprocess.Popen[bytes], nonce: bytes) -> None:
    """Hand the runner its nonce; a child that died before reading it simply fails."""
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.write(nonce + b"\n")
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.close()


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


def _nproc_limit(uid: int) -> int:
    """A process cap for a child running as `uid`: what that user runs now plus headroom; 0: none.

    RLIMIT_NPROC counts every thread of the user, not only the child's, so a fixed number could
    stop the child from starting at all. Root is exempt from the limit, so we skip it there.
    """
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
