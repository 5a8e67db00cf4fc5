"""Verify benchmark (issue 11): HumanEval pass@1 and model calls per problem of four settings of one agent.

The held-out 40 problems of the seeded split `compile.py` and `generalize.py` use (split seed 0),
Qwen2.5-Coder-0.5B-Instruct via llama.cpp, the agent of `examples/humaneval/spec.yaml`:

  single      one answer at temperature 0
  vote        5 samples (the first at temperature 0, the rest at 0.7), normalised majority
  verify      the same 5 samples, each run in the sandbox against its prompt's docstring examples;
              the best-verified wins, ties go to the vote
  verify_r1   verify, and a failing sample is revised once by its agent from the doctest message

Scored by `code_pass` (the hidden tests) in the sandbox. The call cache is shared by the arms, so
a sample two arms both draw is paid for once; *calls / problem* counts every call an arm makes,
cached or not, which is what it would cost alone. Pass `--limit N` for the first N test problems.
The call cache lives in `--cache` (default `runs/bench-verify/cache`), so a killed run resumes
where it stopped, and each arm's row is appended to `runs/bench-verify/rows.md` as it finishes.

Run: .venv/bin/python benchmarks/verify.py [--limit 40]
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

from ann import Graph, connect  # noqa: E402
from ann.build import graph_from_spec  # noqa: E402
from ann.datasets import CodePass  # noqa: E402
from ann.evaluate import aevaluate  # noqa: E402
from ann.spec import Spec  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from compile import humaneval_task  # noqa: E402
from models import qwen_coder_gguf  # noqa: E402

SAMPLES = 5
ARMS = {
    "single": ("single", 1, {}),
    "vote": ("vote", SAMPLES, {}),
    "verify": ("verify", SAMPLES, {"verifier": "doctest"}),
    "verify_r1": ("verify", SAMPLES, {"verifier": "doctest", "rounds": 1}),
}


def arm_graph(spec: Spec, arm: str) -> Graph:
    """The spec's one-agent graph with the arm's team type, samples and options."""
    aggregator, samples, options = ARMS[arm]
    [layer] = spec.graph.layers
    team = layer.model_copy(update={"aggregator": aggregator, "samples": samples, "options": options})
    return graph_from_spec(spec.model_copy(update={"graph": spec.graph.model_copy(update={"layers": [team]})}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=40, help="the first N of the 40 test problems")
    parser.add_argument("--gguf", type=Path, help="GGUF model file (default: Qwen2.5-Coder-0.5B from [bench])")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, from {', '.join(ARMS)}")
    parser.add_argument("--cache", type=Path, default=Path("runs/bench-verify/cache"),
                        help="call cache directory, kept so a killed run resumes (default: %(default)s)")  # fmt: skip
    args = parser.parse_args()
    task = humaneval_task({}, argparse.Namespace(seed=0, limit=None))
    problems = task.test[: args.limit]
    gguf = args.gguf or qwen_coder_gguf()
    lm = connect(gguf=gguf, temperature=0.0, max_tokens=task.spec.model.max_tokens, concurrency=2,
                 cache_dir=args.cache, timeout_s=900)  # fmt: skip
    args.cache.mkdir(parents=True, exist_ok=True)
    rows = args.cache.parent / "rows.md"
    header = (f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {gguf.name} via "
              f"llama.cpp; {len(problems)} HumanEval test problems (split seed 0)\n"
              "| arm | pass@1 | calls / problem | new calls | wall s |\n"
              "| --- | ---: | ---: | ---: | ---: |")  # fmt: skip

    def record(text: str) -> None:
        print(text, flush=True)
        with rows.open("a") as log:
            log.write(text + "\n")

    record(header)
    for arm in args.arms.split(","):
        started = time.perf_counter()
        report = asyncio.run(aevaluate(arm_graph(task.spec, arm), problems, CodePass(timeout_s=10), lm=lm))
        usage = report.usage
        row = (f"| {arm} | {report.score:.1%} ({sum(s.metric.score for s in report.scored):g}/{report.n}) | "
               f"{(usage.calls + usage.cache_hits) / report.n:.1f} | {usage.calls} | "
               f"{time.perf_counter() - started:.0f} |")  # fmt: skip
        record(row)


if __name__ == "__main__":
    main()
