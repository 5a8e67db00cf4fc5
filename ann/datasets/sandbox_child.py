"""The sandbox child's entry point: lock the process down, then run the user's file.

`ann.datasets.sandbox.run_python` starts this file as a script (``python -I sandbox_child.py
CPU_S MEMORY_BYTES FSIZE_BYTES NPROC DONE_FD solution.py``), inside the jail when there is one. It
is standalone on purpose: with ``-I`` the ``ann`` package is not importable, and nothing here may
depend on the parent's state.

Completion proof: the parent sends a random nonce on stdin, which is read before the user's code
runs and written to file descriptor DONE_FD only after the program ran to its last line. A
program that exits early (``sys.exit(0)``, ``os._exit(0)``, a signal) leaves no nonce, so it
cannot pass by exiting 0; the program never sees the nonce in its source, argv or environment.

Doing the lock-down here, rather than in a ``preexec_fn``, keeps it in a fresh single-threaded
process: ``preexec_fn`` can deadlock when the parent has threads, and metrics run in threads.
"""

from __future__ import annotations

import os
import sys

__all__ = ["SETUP_FAILED_EXIT", "SETUP_FAILED_PREFIX", "main"]

SETUP_FAILED_EXIT = 125
SETUP_FAILED_PREFIX = "ann-sandbox: setup failed: "

_CLONE_NEWNET = 0x40000000
_REFUSAL = "network access is disabled in the ann sandbox"


def main(argv: list[str]) -> None:
    """Take the nonce, apply limits, leave the network, block sockets, then run the user's file."""
    try:
        cpu_s, memory_bytes, fsize_bytes, nproc, done_fd = (int(arg) for arg in argv[1:6])
        solution = argv[6]
        nonce = _take_nonce()
        _leave_network_namespace()
        _set_limits(cpu_s, memory_bytes, fsize_bytes, nproc)
        _block_sockets()
    except Exception as e:  # noqa: BLE001 - any setup failure must be reported, not half-run
        sys.stderr.write(f"{SETUP_FAILED_PREFIX}{type(e).__name__}: {e}\n")
        sys.exit(SETUP_FAILED_EXIT)
    _run(solution)
    os.write(done_fd, nonce)


def _take_nonce() -> bytes:
    """Read the nonce from stdin, then leave stdin empty for the user's code."""
    nonce = sys.stdin.buffer.readline().strip()
    if not nonce:
        raise ValueError("no completion nonce on stdin")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return nonce


def _leave_network_namespace() -> bool:
    """Move into a new, empty network namespace if the kernel lets us (needs CAP_SYS_ADMIN).

    In the new namespace even loopback is down, so this also stops subprocesses and C code,
    which the Python-level socket guard cannot see. Failure is ignored: the guard still applies.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.unshare(_CLONE_NEWNET) == 0
    except (OSError, AttributeError):
        return False


def _set_limits(cpu_s: int, memory_bytes: int, fsize_bytes: int, nproc: int) -> None:
    import resource

    def lower(which: int, soft: int, hard: int | None = None) -> None:
        hard = soft if hard is None else hard
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        resource.setrlimit(which, (soft, hard))

    # SIGXCPU at the soft limit, SIGKILL one second later if it is caught.
    lower(resource.RLIMIT_CPU, cpu_s, cpu_s + 1)
    lower(resource.RLIMIT_AS, memory_bytes)
    lower(resource.RLIMIT_FSIZE, fsize_bytes)
    lower(resource.RLIMIT_CORE, 0)
    if nproc > 0:
        lower(resource.RLIMIT_NPROC, nproc)


def _block_sockets() -> None:
    """Make creating a new socket, or resolving a host name, raise PermissionError.

    This is a Python-level guard: code that reaches the original classes (e.g. through
    ``__mro__``), C extensions and subprocesses get around it. Wrapping an existing file
    descriptor is still allowed, so ``socket.socketpair()`` (used by asyncio) keeps working.
    """
    import _socket
    import errno
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, _REFUSAL)

    real_socket = socket.socket
    real_raw_socket = _socket.socket

    class GuardedSocket(real_socket):  # type: ignore[misc, valid-type]
        def __init__(self, family=-1, type=-1, proto=-1, fileno=None):  # noqa: A002, ANN001
            if fileno is None:
                refuse()
            super().__init__(family, type, proto, fileno)

        connect = connect_ex = bind = sendto = refuse

    class GuardedRawSocket(real_raw_socket):  # type: ignore[misc, valid-type]
        def __init__(self, family=-1, type=-1, proto=-1, fileno=None):  # noqa: A002, ANN001
            if fileno is None:
                refuse()
            real_raw_socket.__init__(self, family, type, proto, fileno)

        connect = connect_ex = bind = sendto = refuse

    socket.socket = GuardedSocket  # type: ignore[misc]
    socket.SocketType = GuardedRawSocket  # type: ignore[misc]
    _socket.socket = _socket.SocketType = GuardedRawSocket  # type: ignore[misc]
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        setattr(socket, name, refuse)
        setattr(_socket, name, refuse)
    socket.create_connection = refuse  # type: ignore[assignment]


def _run(solution: str) -> None:
    """Run the file as ``__main__`` and print any traceback without this runner's frames."""
    import runpy
    import traceback

    try:
        runpy.run_path(solution, run_name="__main__")
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - report every failure of the user's code
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != solution:
            tb = tb.tb_next
        traceback.print_exception(type(e), e, tb)
        sys.stderr.flush()
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv)
