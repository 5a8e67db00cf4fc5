"""run_python(): failing code is a result, and the limits (time, memory, files, env, network) hold."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ann.datasets import SandboxResult, run_python
from ann.datasets.sandbox import OUTPUT_LIMIT_BYTES
from ann.errors import SandboxError


def run(code: str, **kwargs: object) -> SandboxResult:
    return run_python(textwrap.dedent(code), **kwargs)  # type: ignore[arg-type]


def test_successful_code_passes_and_returns_stdout() -> None:
    result = run("print('hello', 6 * 7)")
    assert (result.passed, result.returncode, result.stdout, result.timed_out) == (True, 0, "hello 42\n", False)


def test_exception_is_a_failed_result_with_the_traceback_of_the_user_code() -> None:
    result = run(
        """
        def f():
            raise ValueError("boom")
        f()
        """
    )
    assert not result.passed
    assert result.returncode == 1
    assert result.stderr.startswith('Traceback (most recent call last):\n  File "solution.py", line 4')
    assert result.stderr.rstrip().endswith("ValueError: boom")
    assert "sandbox_child" not in result.stderr, "the runner's own frames are hidden"


def test_syntax_error_and_nonzero_exit_are_results() -> None:
    assert "SyntaxError" in run("def f(:\n").stderr
    result = run("import sys; sys.exit(3)")
    assert (result.passed, result.returncode) == (False, 3)


def test_infinite_loop_is_killed_within_the_timeout() -> None:
    result = run("while True:\n    pass", timeout_s=0.5)
    assert result.timed_out and not result.passed
    assert result.duration_s < 2.5


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its reaper does not count)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_background_children_die_with_the_run() -> None:
    result = run(
        """
        import subprocess
        child = subprocess.Popen(["sleep", "30"])
        print(child.pid, flush=True)
        """
    )
    pid = int(result.stdout)
    deadline = time.monotonic() + 2
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(pid), "the code's background process outlived the run"


def test_memory_limit_stops_a_huge_allocation() -> None:
    small = run("x = bytearray(50 * 1024 * 1024); print(len(x))", memory_mb=256)
    assert small.passed, small.stderr
    huge = run("x = bytearray(1024 * 1024 * 1024); print('allocated')", memory_mb=256)
    assert not huge.passed
    assert "MemoryError" in huge.stderr
    assert "allocated" not in huge.stdout


def test_file_size_limit_stops_a_huge_file() -> None:
    result = run(
        """
        with open("big.bin", "wb") as f:
            for _ in range(64):
                f.write(b"x" * 1024 * 1024)
        """
    )
    assert not result.passed
    assert "File too large" in result.stderr


def test_child_env_has_no_parent_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-parent-secret")
    result = run("import json, os; print(json.dumps(dict(os.environ)))")
    env = json.loads(result.stdout)
    assert "OPENAI_API_KEY" not in env
    assert "sk-parent-secret" not in result.stdout
    assert set(env) <= {"PATH", "HOME", "TMPDIR", "LANG"}


def test_child_runs_in_a_fresh_temp_dir_that_is_removed() -> None:
    result = run("import os; print(os.getcwd()); print(os.environ['HOME']); print(os.listdir('.'))")
    cwd, home, listing = result.stdout.splitlines()
    assert cwd == home
    assert cwd != os.getcwd()
    assert listing == "['solution.py']"
    assert not Path(cwd).exists()


def test_child_is_isolated_mode_python() -> None:
    result = run("import sys; print(sys.flags.isolated, sys.flags.ignore_environment)")
    assert result.stdout.split() == ["1", "1"]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.3)
    yield server
    server.close()


def assert_nobody_connected(server: socket.socket) -> None:
    try:
        conn, _ = server.accept()
    except TimeoutError:
        return
    conn.close()
    pytest.fail("the sandboxed code connected to the test's listening socket")


def test_socket_connect_to_localhost_is_blocked(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    result = run(
        f"""
        import socket
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=2)
            print("connected")
        except OSError as e:
            print("blocked:", e)
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.connect(("127.0.0.1", {port}))
            print("connected")
        except OSError as e:
            print("blocked:", e)
        """
    )
    assert result.stdout.splitlines() == ["blocked: [Errno 13] network access is disabled in the ann sandbox"] * 2
    assert_nobody_connected(listener)


def test_host_name_resolution_is_blocked() -> None:
    result = run("import socket; socket.getaddrinfo('localhost', 80)")
    assert "PermissionError" in result.stderr


def kernel_permits_network_namespaces() -> bool:
    """Whether a plain child of this test may call unshare(CLONE_NEWNET), asked outside the sandbox."""
    probe = "import ctypes, sys; sys.exit(ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0)"
    return subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


def test_sandbox_has_its_own_network_namespace_when_the_kernel_permits() -> None:
    if not kernel_permits_network_namespaces():
        pytest.skip("unshare(CLONE_NEWNET) is not permitted here; only the Python-level guard applies")
    inside = run("import os; print(os.readlink('/proc/self/ns/net'))").stdout.strip()
    assert inside != os.readlink("/proc/self/ns/net")


def test_guard_bypass_still_cannot_reach_localhost_when_the_kernel_permits(listener: socket.socket) -> None:
    if not kernel_permits_network_namespaces():
        pytest.skip("unshare(CLONE_NEWNET) is not permitted here; only the Python-level guard applies")
    port = listener.getsockname()[1]
    result = run(
        f"""
        import socket
        # The real C socket class, which the Python-level guard does not cover.
        raw = next(c for c in socket.socket.__mro__ if c.__module__ == "_socket")
        s = raw(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect(("127.0.0.1", {port}))
            print("connected")
        except OSError as e:
            print("unreachable", e.errno)
        """
    )
    assert result.stdout.startswith("unreachable"), result.stdout + result.stderr
    assert_nobody_connected(listener)


def test_socketpair_and_asyncio_still_work() -> None:
    result = run("import asyncio; print(asyncio.run(asyncio.sleep(0, result='ok')))")
    assert result.stdout == "ok\n", result.stderr


def test_long_output_is_cut_keeping_head_and_tail() -> None:
    result = run("print('START' + 'x' * 100_000 + 'END')")
    assert result.passed
    assert len(result.stdout) < OUTPUT_LIMIT_BYTES + 100
    assert result.stdout.startswith("START")
    assert result.stdout.endswith("END\n")
    assert "bytes cut" in result.stdout


def test_runs_in_parallel_threads() -> None:
    results: list[SandboxResult] = []
    threads = [threading.Thread(target=lambda i=i: results.append(run(f"print({i})"))) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.stdout for r in results) == ["0\n", "1\n", "2\n", "3\n"]


def test_sandbox_that_cannot_start_raises_sandbox_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python3")
    with pytest.raises(SandboxError, match="cannot start the sandbox interpreter"):
        run_python("print(1)")


@pytest.mark.parametrize("kwargs", [{"timeout_s": 0}, {"timeout_s": -1}, {"memory_mb": 0}, {"memory_mb": 1.5}])
def test_bad_limits_are_value_errors(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        run_python("print(1)", **kwargs)  # type: ignore[arg-type]
