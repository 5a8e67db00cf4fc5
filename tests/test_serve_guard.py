"""The serve guard: a local model server must not outlive the process that started it."""

import os
import subprocess
import sys
import time

PARENT = """
import subprocess, sys, time
child = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"
subprocess.Popen([sys.executable, "-m", "ann.serve_guard", sys.executable, "-c", child], stdin=subprocess.PIPE)
time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_served_process_stops_when_its_starter_is_killed_outright():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    server = int(parent.stdout.readline())
    assert alive(server)
    parent.kill()  # SIGKILL: no atexit, no cleanup code runs in the parent
    parent.wait()
    deadline = time.monotonic() + 10
    while alive(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(server)
