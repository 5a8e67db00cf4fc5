"""Startup benchmark: how long the commands that call no model take, from process start to exit.

The target (issue 12) is under 0.5 s each for `ann show`, `ann diff`, `ann schema` and `ann export`,
so that they fit in pre-commit hooks and CI prompt reviews. Each command runs in a fresh process
``--runs`` times; the median wall time and CPU time (user + system) are printed, with whether the
process imported DSPy or LiteLLM (seconds of imports that only a model call needs).

CPU time is the steadier number on a busy machine: wall time also counts waiting for a core, so
the fastest run's wall time is printed too. Each command first runs once unmeasured, with Python's
bytecode cache on (``PYTHONDONTWRITEBYTECODE`` is removed for the children), as on a user's
machine after the first run.

Run: .venv/bin/python benchmarks/startup.py [--runs 5] [--tree PATH]
``--tree`` times another checkout of ann (e.g. ``git worktree add /tmp/before HEAD~1``) with this
virtualenv, for before/after comparisons.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.5
SPEC = "examples/orders/spec.yaml"
# The children write and read Python's bytecode cache, as a user's runs do.
CHILD_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

# Runs `ann ARGS...` in-process from the checkout in the working directory and reports heavy imports.
RUNNER = """\
import contextlib, io, sys
from ann.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
heavy = [m for m in ("dspy", "litellm", "networkx", "numpy") if m in sys.modules]
print("heavy=" + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


def commands(bundle: Path) -> dict[str, list[str]]:
    return {
        "python (no ann)": ["-c", "pass"],
        "import ann": ["-c", "import ann"],
        "ann show SPEC": ["-c", RUNNER, "show", SPEC],
        "ann show BUNDLE": ["-c", RUNNER, "show", str(bundle)],
        "ann diff SPEC BUNDLE": ["-c", RUNNER, "diff", SPEC, str(bundle)],
        "ann schema spec": ["-c", RUNNER, "schema", "spec"],
        "ann export BUNDLE": ["-c", RUNNER, "export", str(bundle), "--format", "mermaid", "--out", os.devnull],
    }


def time_once(args: list[str], tree: Path) -> tuple[float, float, str, int]:
    """Wall seconds, CPU seconds, the heavy modules imported, and the exit code of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=tree, env=CHILD_ENV, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    heavy = next((line[6:] for line in done.stderr.splitlines() if line.startswith("heavy=")), "")
    return wall, cpu, heavy, done.returncode


def make_bundle(tree: Path, folder: Path) -> Path:
    """An untrained bundle of the orders spec, written by the checkout being timed."""
    path = folder / "bundle.json"
    script = (
        "import sys; from ann import graph_from_spec, load_spec; from ann.bundle import make_bundle, save_bundle; "
        f"spec = load_spec({SPEC!r}); save_bundle(make_bundle(graph_from_spec(spec), spec=spec), sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], cwd=tree, check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default: 5)")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the ann checkout to time (default: this one)")
    args = parser.parse_args()
    tree = args.tree.resolve()
    print(f"ann at {tree}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; median of {args.runs} runs")
    print(f"{'command':<24} {'wall s':>7} {'min s':>7} {'cpu s':>7}  heavy imports")
    with tempfile.TemporaryDirectory() as folder:
        bundle = make_bundle(tree, Path(folder))
        for name, command in commands(bundle).items():
            time_once(command, tree)  # writes the bytecode cache
            runs = [time_once(command, tree) for _ in range(args.runs)]
            wall = statistics.median(run[0] for run in runs)
            fastest = min(run[0] for run in runs)
            cpu = statistics.median(run[1] for run in runs)
            failed = f" (failed: exit {runs[0][3]})" if runs[0][3] else ""
            mark = "" if name.startswith(("python", "import")) or fastest < TARGET_S else f"  over {TARGET_S} s"
            print(f"{name:<24} {wall:7.2f} {fastest:7.2f} {cpu:7.2f}  {runs[0][2] or '-'}{failed}{mark}")


if __name__ == "__main__":
    main()
