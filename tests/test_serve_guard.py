"""The serve guard: a local model server must not outlive the process that started it."""

import os
import subprocess
import sys
import time

import pytest

PARENT = """
import subprocess, sys, time
child = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"
subprocess.Popen([sys.executable, "-m", "ann.serve_guard", sys.executable, "-c", child], stdin=subprocess.PIPE)
time.sleep(60)
"""
# A server that ignores SIGTERM (as a llama.cpp server busy generating did) must still go.
STUBBORN = PARENT.replace(
    '"import os, time;', '"import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);'
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("script", [PARENT, STUBBORN], ids=["obeys-sigterm", "ignores-sigterm"])
def test_the_served_process_stops_when_its_starter_is_killed_outright(script):
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    server = int(parent.stdout.readline())
    assert alive(server)
    parent.kill()  # SIGKILL: no atexit, no cleanup code runs in the parent
    parent.wait()
    deadline = time.monotonic() + 10
    while alive(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(server)
