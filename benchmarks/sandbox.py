"""What the jail costs: seconds per `run_python` call in the bubblewrap jail vs --unsafe-code.

Runs the same small program N times each way, side by side in one process, and prints the
median and the ratio. Usage: python benchmarks/sandbox.py [--runs 20]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings

from ann.datasets import isolation, isolation_problem, run_python, sandbox

PROGRAM = "def f(n):\n    return sum(range(n))\n\nassert f(10) == 45\n"


def median_seconds(runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = run_python(PROGRAM)
        times.append(time.perf_counter() - start)
        if not result.passed:
            raise SystemExit(f"the program failed: {result.stderr}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if (problem := isolation_problem()) is not None:
        raise SystemExit(f"no jail here: {problem}")
    jailed = median_seconds(args.runs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        isolation.permit_unsafe_code()
    sandbox.isolation_problem = lambda: "measuring the unjailed path"  # type: ignore[assignment]
    unjailed = median_seconds(args.runs)
    print(f"machine: {platform.machine()}, {platform.system()} {platform.release()}; {args.runs} runs each")
    print(f"jail (bubblewrap):   {jailed * 1000:7.1f} ms per run (median)")
    print(f"unsafe (no jail):    {unjailed * 1000:7.1f} ms per run (median)")
    print(f"jail / unsafe:       {jailed / unjailed:7.2f}x")


if __name__ == "__main__":
    main()
