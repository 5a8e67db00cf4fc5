"""Team types benchmark: score and model calls per example of each team type vs a single agent.

Same local model, same problems, one run: examples/arithmetic (numeric match) and a HumanEval
slice (code_pass in the sandbox). Each team type gets three agents with the example's roles;
verify (doctest verifier) runs on HumanEval only.

Run: .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/teams.py [--arithmetic 15 --humaneval 10]
(default model: Qwen2.5-Coder-0.5B-Instruct Q4 from the `bench` extra; `--gguf FILE` for another)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from ann import Agent, Graph, Layer, connect  # noqa: E402
from ann.datasets import CodePass, NumericMatch, load_dataset, load_humaneval  # noqa: E402
from ann.evaluate import aevaluate  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from models import qwen_coder_gguf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEAMS = {
    "single": ("single", 1, {}),
    "vote": ("vote", 3, {}),
    "debate": ("debate", 3, {"rounds": 1}),
    "refine": ("refine", 3, {"max_rounds": 1}),
    "best_of_n": ("best_of_n", 3, {}),
    "critique": ("critique", 1, {"rounds": 1}),
    "verify": ("verify", 3, {"verifier": "doctest"}),
    "verify_r1": ("verify", 3, {"verifier": "doctest", "rounds": 1}),
}
CODE_ONLY = {"verify", "verify_r1"}  # the doctest verifier needs a docstring to check against
ROLES = [
    ("a careful solver", "Work step by step, then give the final answer."),
    ("a quick expert", "Answer directly and precisely."),
    ("a checker", "Solve it, check your result, then give the final answer."),
]


def team_graph(kind: str, inputs: list[str], output: str, lm) -> Graph:
    aggregator, size, options = TEAMS[kind]
    agents = [Agent(f"a{i}", role=role, instructions=text) for i, (role, text) in enumerate(ROLES[:size])]
    layer = Layer("solve", agents, aggregator, inputs=inputs, outputs=[output], options=options)
    return Graph([layer], inputs=inputs, outputs=[output], lm=lm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arithmetic", type=int, default=15, help="arithmetic test problems")
    parser.add_argument("--humaneval", type=int, default=10, help="HumanEval problems (the first N)")
    parser.add_argument("--gguf", type=Path, help="GGUF model file (default: Qwen2.5-Coder-0.5B from [bench])")
    args = parser.parse_args()
    gguf = args.gguf or qwen_coder_gguf()
    lm = connect(gguf=gguf, max_tokens=384, concurrency=2)
    tasks = [
        ("arithmetic", load_dataset(ROOT / "examples/arithmetic/test.jsonl", inputs=["question"])[: args.arithmetic],
         ["question"], "answer", NumericMatch()),
        ("humaneval", load_humaneval(limit=args.humaneval), ["prompt"], "completion", CodePass(timeout_s=10)),
    ]  # fmt: skip
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; model: {gguf.name} via llama.cpp, temperature 0")
    print(f"{'task':12s} {'team':10s} {'score':>7s} {'calls/ex':>9s} {'wall s':>7s}")
    for name, examples, inputs, output, metric in tasks:
        for kind in TEAMS:
            if kind in CODE_ONLY and name != "humaneval":
                continue
            graph = team_graph(kind, inputs, output, lm)
            started = time.perf_counter()
            report = asyncio.run(aevaluate(graph, examples, metric, lm=lm))
            calls = report.usage.calls + report.usage.cache_hits
            print(f"{name:12s} {kind:10s} {report.score:7.1%} {calls / len(examples):9.1f} "
                  f"{time.perf_counter() - started:7.0f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
