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
from pathlib import Path

import pytest
from host_probes import nobody_connected, wait_until_gone

from ann.datasets import SandboxResult, isolation, run_python, sandbox
from ann.datasets.sandbox import OUTPUT_LIMIT_BYTES
from ann.errors import SandboxError


@pytest.fixture(params=["jail", "unsafe"], autouse=True)
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs in the bubblewrap jail and again in --unsafe-code mode."""
    if request.param == "unsafe":
        monkeypatch.setattr(sandbox, "isolation_problem", lambda: "bubblewrap is off for this test")
        monkeypatch.setattr(isolation, "_unsafe_permitted", True)
    elif (problem := isolation.isolation_problem()) is not None:
        pytest.fail(f"the jail cannot run on this machine: {problem}")
    return str(request.param)


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


def test_background_children_die_with_the_run() -> None:
    marker = f"ann-bg-{os.getpid()}-{time.monotonic_ns()}"
    result = run(
        f"""
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "{marker}"])
        print("started", flush=True)
        """
    )
    assert result.stdout == "started\n", result.stderr
    assert wait_until_gone(marker) == [], "the code's background process outlived the run"


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
    assert set(env) <= {"PATH", "HOME", "TMPDIR", "LANG", "PWD"}


def test_child_runs_in_a_fresh_temp_dir_that_is_removed(mode: str) -> None:
    result = run("import os; print(os.getcwd()); print(os.environ['HOME']); print(os.listdir('.'))")
    cwd, home, listing = result.stdout.splitlines()
    assert cwd == home
    assert cwd != os.getcwd()
    assert listing == "['solution.py']"
    if mode == "jail":
        assert cwd == "/work"  # a private tmpfs, gone with the jail
    else:
        assert not Path(cwd).exists()


def test_child_is_isolated_mode_python() -> None:
    result = run("import sys; print(sys.flags.isolated, sys.flags.ignore_environment)")
    assert result.stdout.split() == ["1", "1"]


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
    assert nobody_connected(listener)


def test_host_name_resolution_is_blocked() -> None:
    result = run("import socket; socket.getaddrinfo('localhost', 80)")
    assert "PermissionError" in result.stderr


def kernel_permits_network_namespaces() -> bool:
    """Whether a plain child of this test may call unshare(CLONE_NEWNET), asked outside the sandbox."""
    probe = "import ctypes, sys; sys.exit(ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0)"
    return subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


def test_sandbox_has_its_own_network_namespace_when_the_kernel_permits(mode: str) -> None:
    if mode == "unsafe" and not kernel_permits_network_namespaces():
        pytest.skip("unshare(CLONE_NEWNET) is not permitted here; only the Python-level guard applies")
    inside = run("import os; print(os.readlink('/proc/self/ns/net'))").stdout.strip()
    assert inside != os.readlink("/proc/self/ns/net")


def test_guard_bypass_still_cannot_reach_localhost_when_the_kernel_permits(listener: socket.socket, mode: str) -> None:
    if mode == "unsafe" and not kernel_permits_network_namespaces():
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
    assert nobody_connected(listener)


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


def test_sandbox_that_cannot_start_raises_sandbox_error(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if mode == "jail":
        monkeypatch.setattr(sandbox, "jail_command", lambda *args: ["/nonexistent/bwrap"])
    else:
        monkeypatch.setattr(sys, "executable", "/nonexistent/python3")
    with pytest.raises(SandboxError, match="cannot start the sandbox '/nonexistent/"):
        run_python("print(1)")


@pytest.mark.parametrize("kwargs", [{"timeout_s": 0}, {"timeout_s": -1}, {"memory_mb": 0}, {"memory_mb": 1.5}])
def test_bad_limits_are_value_errors(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        run_python("print(1)", **kwargs)  # type: ignore[arg-type]
