"""The bubblewrap jail holds against code that sets out to escape it.

Each test runs an attack in `run_python` and checks, from outside the jail, that it was
contained: the host file, process or socket it aimed at is untouched.
"""

from __future__ import annotations

import os
import socket
import sys
import textwrap
import time
from pathlib import Path

import pytest
from host_probes import nobody_connected, processes_with, wait_until_gone

from ann.datasets import SandboxResult, isolation, isolation_problem, run_python, sandbox
from ann.errors import SandboxError


@pytest.fixture(autouse=True)
def jail_available() -> None:
    if (problem := isolation_problem()) is not None:
        pytest.fail(f"the jail cannot run on this machine: {problem}")


def run(code: str, **kwargs: object) -> SandboxResult:
    return run_python(textwrap.dedent(code), **kwargs)  # type: ignore[arg-type]


def unique(name: str) -> str:
    return f"ann-{name}-{os.getpid()}-{time.monotonic_ns()}"


def test_fork_bomb_is_capped_and_leaves_nothing_behind() -> None:
    marker = unique("forkbomb")
    result = run(
        f"""
        import os, sys, time
        forked = 0
        try:
            while forked < 100_000:
                if os.fork() == 0:
                    os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", "{marker}"])
                forked += 1
        except OSError as e:
            print("stopped after", forked, e.errno, flush=True)
        """,
        timeout_s=10,
    )
    stopped, _, count, _ = result.stdout.split(maxsplit=3)
    assert stopped == "stopped", result.stdout + result.stderr
    assert int(count) < 1000
    assert wait_until_gone(marker) == []


def test_memory_bomb_is_stopped() -> None:
    result = run("chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024 * 1024))\n", memory_mb=256)
    assert not result.passed
    assert "MemoryError" in result.stderr


def test_writes_outside_the_work_dir_do_not_reach_the_host(tmp_path: Path) -> None:
    from ann.cache import default_cache_dir

    targets = [
        Path(sys.prefix) / "lib" / "ann-jail-escape.pth",  # the virtualenv: code on every start
        Path.home() / "ann-jail-escape.txt",
        default_cache_dir() / "ann-jail-escape.txt",
        tmp_path / "ann-jail-escape.txt",
        Path("/usr/ann-jail-escape.txt"),
    ]
    result = run(
        f"""
        for target in {[str(t) for t in targets]!r}:
            try:
                open(target, "w").write("x")
                print("wrote", target)
            except OSError as e:
                print("refused", e.errno)
        """
    )
    assert "wrote" not in result.stdout, result.stdout
    assert [t for t in targets if t.exists()] == []


def test_host_files_are_not_visible() -> None:
    secret_places = [__file__, str(Path.home()), "/etc/passwd", sys.prefix]
    result = run(f"import os\nprint([os.path.exists(p) for p in {secret_places!r}])")
    assert result.stdout.strip() == str([False] * len(secret_places)), result.stdout + result.stderr


def test_parent_environment_is_unreadable_through_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    key = unique("sk-test-key")
    monkeypatch.setenv("OPENAI_API_KEY", key)
    result = run(
        """
        import os
        seen = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                for name in ("environ", "cmdline"):
                    try:
                        seen.append(open(f"/proc/{pid}/{name}", "rb").read().decode("utf-8", "replace"))
                    except OSError:
                        pass
        print("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
        print("\\n".join(seen))
        """
    )
    assert key not in result.stdout
    pids = result.stdout.splitlines()[0]
    assert os.getppid() != os.getpid() and str(os.getpid()) not in pids.split("[", 1)[1].split(", ")


def test_curl_and_a_python_subprocess_cannot_reach_the_host(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    result = run(
        f"""
        import subprocess, sys
        probe = "import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2); print('connected')"
        for command in (["curl", "-s", "-m", "2", "http://127.0.0.1:{port}/"], [sys.executable, "-c", probe]):
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=5)
                print(command[0], done.returncode, done.stdout.strip())
            except OSError as e:
                print(command[0], "cannot start", e.errno)
        """
    )
    assert "connected" not in result.stdout, result.stdout
    assert len(result.stdout.splitlines()) == 2, result.stdout + result.stderr
    assert nobody_connected(listener)


def test_a_grandchild_in_its_own_session_dies_with_the_run() -> None:
    marker = unique("grandchild")
    result = run(
        f"""
        import os, sys
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", "{marker}"])
            os._exit(0)
        os.wait()
        print("parent done", flush=True)
        """
    )
    assert result.stdout == "parent done\n", result.stderr
    assert wait_until_gone(marker) == [], "a grandchild outlived the jail"


def test_runs_as_an_unprivileged_user_with_no_capabilities() -> None:
    result = run(
        """
        import os
        caps = [line.split()[1] for line in open("/proc/self/status") if line.startswith(("CapEff", "CapPrm"))]
        print(os.getuid(), os.getgid(), caps)
        """
    )
    assert result.stdout.strip() == "65534 65534 ['0000000000000000', '0000000000000000']", result.stdout


def test_without_bubblewrap_model_code_is_refused_unless_unsafe_is_permitted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "isolation_problem", lambda: "bwrap not found; install bubblewrap")
    monkeypatch.setattr(isolation, "_unsafe_permitted", False)
    with pytest.raises(SandboxError, match="cannot run model-written code in isolation: bwrap not found"):
        run_python("print(1)")
    with pytest.warns(RuntimeWarning, match="WITHOUT isolation"):
        isolation.permit_unsafe_code()
    assert run_python("print(1)").stdout == "1\n"


def test_no_jail_process_is_left_after_many_runs() -> None:
    before = len(processes_with("bwrap"))
    for _ in range(5):
        run("print('x')")
    assert len(processes_with("bwrap")) <= before
