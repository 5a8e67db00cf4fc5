"""Run a command as a child, and stop it when ann goes away, however ann ends.

``python -m ann.serve_guard CMD...`` starts CMD and reads its own stdin, a pipe ann holds open. When
ann exits — normally, on Ctrl-C, or killed outright, when no cleanup code of its own runs — the
pipe closes and the guard terminates CMD. So a local model server never outlives the run that
started it and goes on holding gigabytes of memory and the CPU.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

GRACE_S = 5.0  # after SIGTERM, then SIGKILL: a llama.cpp server busy generating was seen to ignore SIGTERM


def main(command: list[str]) -> int:
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL)

    def stop(*_: object) -> None:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=GRACE_S)
            except subprocess.TimeoutExpired:
                child.kill()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def watch_parent() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the parent closed the pipe or died
        stop()

    threading.Thread(target=watch_parent, daemon=True).start()
    try:
        return child.wait(timeout=None)
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
