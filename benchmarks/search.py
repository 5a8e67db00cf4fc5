"""Search throughput: trials per hour with one `ann search` worker vs two sharing a PostgreSQL study.

Each worker is its own `ann search` process; the loopback OpenAI-compatible server runs in a third
process (so no worker competes with it for a GIL), answering every call after a fixed latency.
The study lives in a throwaway PostgreSQL cluster (``ann.testing.postgres``), a fresh study per
arm. The space has a float range, so Optuna's TPE sampler draws (no exhaustive grid), and each
trial scores a vote team of 1-3 samples on the validation examples. Wall times include each
worker's process start.

Run: .venv/bin/python benchmarks/search.py [--trials 24 --examples 8 --latency 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

from ann.testing.postgres import throwaway_cluster

SPEC = """\
name: echo
inputs: [question]
outputs: [answer]
metric: exact_match
graph:
  layers:
    - name: solve
      inputs: [question]
      outputs: [answer]
      aggregator: vote
      agents: [{name: solver, instructions: Answer with one word.}]
search:
  layers:
    solve: {samples: {low: 1, high: 3}, temperature: {low: 0.0, high: 1.0}}
"""

SERVER = """\
import sys, time
from ann.testing import OpenAIServer
with OpenAIServer(reply=lambda request: "yes", latency_s=float(sys.argv[1])) as server:
    print(server.base_url, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
"""


def run_workers(count: int, folder: Path, storage: str, api_base: str, trials: int) -> float:
    """Wall seconds for ``count`` workers to finish one fresh study of ``trials`` trials."""
    study = f"arm-{count}"
    argv = [sys.executable, "-m", "ann.cli", "search", str(folder / "spec.yaml"), "--val", str(folder / "val.jsonl"),
            "--storage", storage, "--study", study, "--trials", str(trials), "--json", "--model", "openai/x",
            "--api-base", api_base, "--no-cache", "--retries", "0"]  # fmt: skip
    started = time.perf_counter()
    workers = [subprocess.Popen([*argv, "--out", str(folder / f"{study}-w{i}")], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True) for i in range(count)]  # fmt: skip
    for worker in workers:
        _, err = worker.communicate()
        if worker.returncode != 0:
            raise SystemExit(f"a worker failed: {err[-800:]}")
    wall = time.perf_counter() - started
    finished = optuna.load_study(study_name=study, storage=storage).get_trials()
    print(f"  {count} worker(s): {len(finished)} trials in {wall:.1f} s", flush=True)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--examples", type=int, default=8, help="validation examples per trial")
    parser.add_argument("--latency", type=float, default=0.1, help="server seconds per call")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="ann-bench-search-") as tmp, throwaway_cluster() as storage:
        folder = Path(tmp)
        (folder / "spec.yaml").write_text(SPEC)
        rows = [{"question": f"question {i}?", "answer": "yes"} for i in range(args.examples)]
        (folder / "val.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(args.latency)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        api_base = server.stdout.readline().strip()
        try:
            print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load "
                  f"{os.getloadavg()[0]:.1f}; {args.trials} trials, {args.examples} validation examples, "
                  f"server latency {args.latency} s", flush=True)  # fmt: skip
            one = run_workers(1, folder, storage, api_base, args.trials)
            two = run_workers(2, folder, storage, api_base, args.trials)
        finally:
            server.stdin.close()
            server.wait(timeout=30)
    print("| workers | wall s | trials / hour | vs one worker |")
    print("| ---: | ---: | ---: | ---: |")
    for count, wall in ((1, one), (2, two)):
        print(f"| {count} | {wall:.1f} | {args.trials / wall * 3600:.0f} | {one / wall:.2f} × |")


if __name__ == "__main__":
    main()
