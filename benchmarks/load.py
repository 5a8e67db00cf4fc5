"""Load benchmark: `ann eval` of many examples at high concurrency against the loopback server.

Runs the real command (LiteLLM included) as a child process over a one-agent spec and prints its
peak RSS (from ``os.wait4``), wall time, throughput and the server's peak number of requests in
flight. ``tests/test_evaluate.py`` asserts the limit and that nothing is lost or duplicated; this
script tracks the numbers, which depend on the machine.

Run: .venv/bin/python benchmarks/load.py [--examples 1000 --concurrency 32 --latency 0.05]
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

from ann.testing import OpenAIServer

ROOT = Path(__file__).resolve().parents[1]
SPEC = """\
name: load
description: Answer each question with one word.
inputs: [question]
outputs: [answer]
metric: exact_match
graph:
  layers:
    - name: answer
      inputs: [question]
      outputs: [answer]
      agents:
        - {name: a, role: a terse assistant, instructions: Answer in one word.}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.05, help="server seconds per reply")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, OpenAIServer(reply=lambda r: "ok", latency_s=args.latency) as server:
        folder = Path(tmp)
        (folder / "spec.yaml").write_text(SPEC, encoding="utf-8")
        rows = [{"id": f"ex{i}", "question": f"question {i}", "answer": "ok"} for i in range(args.examples)]
        (folder / "data.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        argv = ["eval", folder / "spec.yaml", "--data", folder / "data.jsonl", "--json",
                "--concurrency", args.concurrency, "--model", "openai/x", "--api-base", server.base_url,
                "--no-cache", "--retries", 0]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k not in ("ANN_MODEL", "ANN_API_BASE", "OPENAI_BASE_URL")}
        started = time.perf_counter()
        with (folder / "out.json").open("w") as out:
            child = subprocess.Popen([sys.executable, "-m", "ann.cli", *map(str, argv)], stdout=out, cwd=ROOT, env=env)
            _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"ann eval failed with exit code {os.waitstatus_to_exitcode(status)}")
        summary = json.loads((folder / "out.json").read_text(encoding="utf-8"))
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"ann eval: {summary['examples']} examples at concurrency {args.concurrency}, "
              f"server latency {args.latency} s")  # fmt: skip
        print(f"  peak RSS           {usage.ru_maxrss / 1024:8.0f} MB")
        print(f"  eval wall          {summary['wall_s']:8.2f} s ({wall:.2f} s with start-up)")
        print(f"  throughput         {summary['examples'] / summary['wall_s']:8.1f} examples/s")
        print(f"  server in flight   {server.max_in_flight:8d} at most (limit {args.concurrency})")
        print(f"  requests           {server.request_count:8d} for {summary['calls']} calls")


if __name__ == "__main__":
    main()
