"""Isolation for model-written code: a bubblewrap (bwrap) jail, or an explicit, warned opt-out.

The jail, built fresh for every run:

* new PID, network, IPC and UTS namespaces (a fresh ``/proc`` that shows only the jail's own
  processes; no network at all, not even loopback), and a new user namespace when ann does not
  run as root;
* a separate user: uid/gid 65534 ("nobody"), with every capability dropped and
  ``no_new_privs`` set. Under root, ``setpriv`` switches to that real user inside the jail, so
  the per-user process limit applies (root is exempt from it);
* a read-only view of ``/usr`` (and the ``/bin``, ``/lib`` links into it) and of the Python
  installation, mounted at ``/python``; nothing else of the host: no home, no virtualenv, no
  call cache, no ``/etc``;
* a private, size-capped tmpfs as the working directory and another as ``/tmp``; the program
  itself is mounted read-only;
* an empty environment (the caller passes PATH, HOME, TMPDIR and LANG);
* the whole tree dies with the jail's first process, which dies with its parent.

Where bwrap (or, under root, setpriv) is missing or the kernel refuses namespaces, ann refuses
to run model-written code unless the user opted out with ``--unsafe-code`` (or
`permit_unsafe_code`), which prints a warning: it never silently degrades.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

__all__ = [
    "JAIL_UID",
    "UNSAFE_CODE_WARNING",
    "JailLayout",
    "isolation_problem",
    "jail_command",
    "permit_unsafe_code",
    "unsafe_code_permitted",
]

JAIL_UID = 65534
"""The user (and group) the jailed code runs as: "nobody"."""

_TMPFS_BYTES = 64 * 1024 * 1024
_SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64")
_INSTALL_HINT = (
    "install bubblewrap (`make sandbox`, or `apt-get install bubblewrap`), "
    "or pass --unsafe-code to run model-written code without isolation"
)
_unsafe_permitted = False

UNSAFE_CODE_WARNING = (
    "--unsafe-code: where bubblewrap is unavailable, model-written code runs WITHOUT isolation "
    "(resource limits and a Python-level network guard only); it can read your files and use your network"
)


class JailLayout:
    """Where the pieces of one run sit inside the jail.

    Args:
        runner: The host path of the runner script, mounted read-only at ``/runner.py``.
        program: The host path of the program, mounted read-only as ``/work/<name>``.
    """

    work_dir = "/work"
    runner_path = "/runner.py"

    def __init__(self, runner: Path, program: Path) -> None:
        self.runner = runner
        self.program = program

    @property
    def program_path(self) -> str:
        return f"{self.work_dir}/{self.program.name}"


def permit_unsafe_code() -> None:
    """Allow model-written code to run without the jail when bwrap is unavailable; warns once."""
    global _unsafe_permitted
    if not _unsafe_permitted:
        warnings.warn(UNSAFE_CODE_WARNING, RuntimeWarning, stacklevel=2)
    _unsafe_permitted = True


def unsafe_code_permitted() -> bool:
    """Whether `permit_unsafe_code` was called in this process."""
    return _unsafe_permitted


def isolation_problem() -> str | None:
    """Why the jail cannot run here, or None when it can (probed once per process)."""
    return _probe()


@functools.cache
def _probe() -> str | None:
    missing = [tool for tool in _needed_tools() if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not found; {_INSTALL_HINT}"
    python = _jailed_python()
    if python is None:
        return f"cannot place the Python installation {sys.base_prefix!r} in the jail; {_INSTALL_HINT}"
    try:
        probe = subprocess.run(
            [*_bwrap_options(), *_as_jail_user(), python[1], "-I", "-S", "-c", "pass"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            env={"PATH": "/usr/bin:/bin"},
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bubblewrap failed to start: {e}; {_INSTALL_HINT}"
    if probe.returncode != 0:
        reason = probe.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"bubblewrap cannot create the jail here ({reason[-1] if reason else probe.returncode}); {_INSTALL_HINT}"
    return None


def jail_command(layout: JailLayout, argv: list[str], env: dict[str, str]) -> list[str]:
    """The command that runs ``python -I -S <runner> <argv...>`` inside a fresh jail.

    Args:
        layout: Where the runner and the program come from.
        argv: Arguments for the runner.
        env: The whole environment of the jailed process.

    Returns:
        The full bwrap command line; `isolation_problem` must be None.
    """
    python = _jailed_python()
    if python is None:  # isolation_problem() reports this before anyone gets here
        raise RuntimeError("no Python installation to mount in the jail")
    mounts = [
        "--size", str(_TMPFS_BYTES), "--perms", "01777", "--tmpfs", layout.work_dir,
        "--ro-bind", str(layout.program), layout.program_path,
        "--ro-bind", str(layout.runner), layout.runner_path,
        "--chdir", layout.work_dir,
    ]  # fmt: skip
    settings = [option for name, value in env.items() for option in ("--setenv", name, value)]
    return [*_bwrap_options(), *mounts, *settings, *_as_jail_user(), python[1], "-I", "-S", layout.runner_path, *argv]


def _needed_tools() -> list[str]:
    return ["bwrap", "setpriv"] if os.geteuid() == 0 else ["bwrap"]


def _bwrap_options() -> list[str]:
    """bwrap and the options every jail shares: namespaces, the read-only system, /proc, /tmp."""
    options = [
        "bwrap",
        "--die-with-parent",
        "--new-session",
        "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--clearenv",
        "--ro-bind", "/usr", "/usr",
        *_system_links(),
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(_TMPFS_BYTES), "--perms", "01777", "--tmpfs", "/tmp",
    ]  # fmt: skip
    python = _jailed_python()
    if python is not None and python[0] is not None:
        options += ["--ro-bind", python[0], "/python"]
    if os.geteuid() != 0:
        return [*options, "--unshare-user", "--uid", str(JAIL_UID), "--gid", str(JAIL_UID), "--cap-drop", "ALL"]
    # Root: keep only what setpriv needs to become the jail user, which then drops it too.
    return [*options, "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]


def _as_jail_user() -> list[str]:
    """The command prefix that switches to the jail user (only needed under root)."""
    if os.geteuid() != 0:
        return []
    return [
        "/usr/bin/setpriv", f"--reuid={JAIL_UID}", f"--regid={JAIL_UID}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
    ]  # fmt: skip


def _system_links() -> list[str]:
    """Mount or link /bin, /lib, … as on the host (on merged-/usr systems they are symlinks)."""
    options: list[str] = []
    for path in _SYSTEM_LINKS:
        if os.path.islink(path):
            options += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            options += ["--ro-bind", path, path]
    return options


@functools.cache
def _jailed_python() -> tuple[str | None, str] | None:
    """(host directory to mount at /python or None, interpreter path inside the jail).

    The interpreter is the base installation's, not the virtualenv's: the jail gets the
    standard library only, never ann's own packages.
    """
    executable = os.path.realpath(getattr(sys, "_base_executable", sys.executable) or sys.executable)
    if executable.startswith("/usr/"):
        return None, executable
    prefix = os.path.realpath(sys.base_prefix)
    if not executable.startswith(prefix + os.sep):
        return None
    return prefix, "/python/" + os.path.relpath(executable, prefix)
