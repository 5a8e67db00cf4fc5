"""Generalization benchmark: held-out test score before and after training, per task, arm and seed.

One command trains one (task, arm, seed) on the same budget of training LM calls (default 175:
task-model calls during training plus optimizer / reflection calls, cache hits free) and writes
`benchmarks/generalize/<task>-<arm>-s<seed>.json` when it finishes: test scores before and after
(per example, in test order), the calls and wall time training took, the settings and the final
instructions. `--table` prints one markdown table from every result file.

Arms:
  ann       `ANNOptimizer(**settings, seed=seed).compile` on the spec, as `benchmarks/compile.py`
            does; test scored for the spec (before) and the trained graph (after), call cache off.
  gepa      dspy.GEPA on one `dspy.Predict` whose signature is the spec agent's own call (same
            instructions: role + instructions, same field descriptions), DSPy's default
            ChatAdapter; the same model as task and reflection LM (`gepa_arm.py`).
  gepa-ann  the same with `dspy.configure(adapter=AnnAdapter())`: ann's framing, GEPA's optimizer.

The split is fixed (HumanEval: `compile.py`'s seeded 15 / 15 / 40 with split seed 0); `--seed`
varies only the optimizer's seed and the sampling seed sent with each call.

Run: .venv/bin/pip install -e '.[bench]'
     .venv/bin/python benchmarks/generalize.py --task humaneval --arm gepa-ann --seed 0
     .venv/bin/python benchmarks/generalize.py --table
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from ann import Graph, connect, graph_from_spec, load_spec  # noqa: E402
from ann.cli.eval import spec_metric  # noqa: E402
from ann.datasets import load_dataset  # noqa: E402
from ann.evaluate import aevaluate  # noqa: E402
from ann.lm import ModelClient  # noqa: E402
from ann.optimizers.history import StepRecord  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from compile import DEFAULTS, SPLITS, Task, compile_once, humaneval_task, model, training_settings  # noqa: E402
from models import qwen_coder_gguf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "generalize"
ARMS = ("ann", "gepa", "gepa-ann")
BUDGET = 175  # training LM calls per run, every arm: the LM calls DSPy GEPA used in the reference run
SPLIT_SEED = 0


@dataclass(frozen=True)
class TaskEntry:
    """One task: how to load it (training overrides, --limit → Task) and which model it runs on."""

    load: Callable[[dict[str, Any], int | None], Task]
    qwen: bool  # the benchmark's Qwen GGUF; else the embedded default model


def humaneval(overrides: dict[str, Any], limit: int | None) -> Task:
    return humaneval_task(overrides, argparse.Namespace(seed=SPLIT_SEED, limit=limit))


def example_folder(name: str) -> Callable[[dict[str, Any], int | None], Task]:
    """A task from examples/<name>/: its spec.yaml and its train / val / test files."""

    def load(overrides: dict[str, Any], limit: int | None) -> Task:
        folder = ROOT / "examples" / name
        spec = load_spec(folder / "spec.yaml")
        train, val, test = (load_dataset(folder / f"{part}.jsonl", inputs=spec.inputs)[:limit] for part in SPLITS)
        return Task(spec, train, val, test, training_settings(spec, overrides))

    return load


TASKS: dict[str, TaskEntry] = {
    "humaneval": TaskEntry(humaneval, qwen=True),
    "arithmetic": TaskEntry(example_folder("arithmetic"), qwen=True),
    "orders": TaskEntry(example_folder("orders"), qwen=False),
    "tickets": TaskEntry(example_folder("tickets"), qwen=False),
    "invoices": TaskEntry(example_folder("invoices"), qwen=False),
}


@dataclass
class ArmResult:
    """What one arm measured; `record` adds who, where and when."""

    scores_before: list[float]
    scores_after: list[float]
    test_wall_s: dict[str, float]
    wall_s: float
    training_calls: dict[str, Any]
    test_calls: int
    settings: dict[str, Any]
    instructions_before: dict[str, str]
    instructions_after: dict[str, str]
    training: dict[str, Any]


def trainable_texts(graph: Graph) -> dict[str, str]:
    return {name: param.value for name, param in graph.named_parameters() if param.trainable}


def test_scores(graph: Graph, task: Task, client: ModelClient) -> tuple[list[float], float, int]:
    """Per-example test scores (in test order), wall seconds and calls; as compile.py's `test_row`."""
    report = asyncio.run(aevaluate(graph, task.test, spec_metric(task.spec, None, lm=client), lm=client))
    return [item.metric.score for item in report.scored], report.wall_s, report.usage.calls


def run_ann(task: Task, args: argparse.Namespace, work: Path) -> ArmResult:
    tester = model(task.spec, args, cache_dir=None)
    spec_graph = graph_from_spec(task.spec)
    before, before_wall, before_calls = test_scores(spec_graph, task, tester)
    print(f"test before: {sum(before):g}/{len(before)} ({before_wall:.0f} s)", flush=True)
    compiled = compile_once(task, args, cache_dir=work / "cache", out=work / "compiled")
    run = compiled.run
    print(f"compile: {run.usage.calls} calls + {run.usage.cache_hits} hits, {compiled.wall_s:.0f} s", flush=True)
    trained = Graph.load(compiled.bundle)
    after, after_wall, after_calls = test_scores(trained, task, tester)
    print(f"test after: {sum(after):g}/{len(after)} ({after_wall:.0f} s)", flush=True)
    usage = run.usage
    sampling = {
        "temperature": task.spec.model.temperature,
        "max_tokens": task.spec.model.max_tokens,
        "optimizer_max_tokens": task.spec.train.optimizer_max_tokens,
        "concurrency": args.concurrency,
    }
    return ArmResult(
        scores_before=before,
        scores_after=after,
        test_wall_s={"before": before_wall, "after": after_wall},
        wall_s=compiled.wall_s,
        training_calls={
            "budget": task.settings.get("max_calls"),
            "calls": usage.calls,
            "cache_hits": usage.cache_hits,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "by_lm": None,
        },  # one TrainingRun.usage covers the forward and the optimizer model
        test_calls=before_calls + after_calls,
        settings={**task.settings, **sampling},
        instructions_before=trainable_texts(spec_graph),
        instructions_after=trainable_texts(trained),
        training={
            "val_before": run.baseline_score,
            "val_after": run.best_score,
            "steps": len(run.history),
            "accepted": sum(r.accepted for r in run.history),
            "stopped": run.stopped,
            "steps_log": [step_summary(record) for record in run.history],
        },
    )


def step_summary(record: StepRecord) -> dict[str, Any]:
    """One step of history.jsonl without its texts: what was tried and the gate's verdict on it."""
    return {
        "step": record.step,
        "note": record.note,
        "changed": [change["param"] for change in record.changes],
        "val_score": record.val_score,
        "accepted": record.accepted,
        "verdict": record.verdict,
        "rejected": [f"{rejection['param']}: {rejection['reason']}" for rejection in record.rejected],
    }


def run_gepa(task: Task, args: argparse.Namespace, work: Path) -> ArmResult:
    import gepa_arm  # dspy.GEPA and its helpers load only for these arms

    client = connect(gguf=args.gguf, cache=False, max_tokens=task.spec.model.max_tokens)  # the server every arm uses
    settings = gepa_arm.GepaSettings(
        adapter=args.arm, budget=args.budget, num_threads=args.concurrency, seed=args.seed,
        temperature=task.spec.model.temperature, max_tokens=task.spec.model.max_tokens,
        reflection_max_tokens=args.reflection_max_tokens,
    )  # fmt: skip
    base = gepa_arm.base_lm(client.config.model, client.config.api_base or "", settings=settings,
                            num_retries=client.config.num_retries, timeout_s=args.timeout)  # fmt: skip
    outcome = gepa_arm.run_gepa(
        graph=graph_from_spec(task.spec), train=task.train, val=task.val, test=task.test,
        metric=spec_metric(task.spec, None, lm=client), base=base, settings=settings, work=work, resume=args.resume,
    )  # fmt: skip
    return ArmResult(
        scores_before=outcome.scores_before,
        scores_after=outcome.scores_after,
        test_wall_s=outcome.test_wall_s,
        wall_s=outcome.wall_s,
        training_calls=outcome.usage,
        test_calls=outcome.test_usage["calls"],
        settings={
            **asdict(settings),
            "adapter": gepa_arm.ADAPTERS[args.arm],
            "start": "the spec agent's signature (role + instructions, field descriptions)",
        },
        instructions_before=outcome.instructions_before,
        instructions_after=outcome.instructions_after,
        training=outcome.training,
    )


def variant(args: argparse.Namespace) -> str:
    """The ann settings a run changed from the task's defaults, as "lr=0.3 demos=0"; "" for none."""
    changed = {"lr": args.lr, "demos": args.demos, "demo_source": args.demo_source}
    return " ".join(f"{key}={value}" for key, value in changed.items() if value is not None)


def arm_label(args: argparse.Namespace) -> str:
    """The arm as results name it: a variant is an arm of its own in the table and in file names."""
    return f"{args.arm} {variant(args)}".strip()


def git_state() -> dict[str, Any]:
    def git(*command: str) -> str:
        done = subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--", "ann", "benchmarks"))}


def record(name: str, task: Task, args: argparse.Namespace, result: ArmResult, *, started: float) -> dict[str, Any]:
    """The result file's content: the run's identity, its scores and what it took."""
    n = len(result.scores_before)
    return {
        "task": name,
        "arm": arm_label(args),
        "seed": args.seed,
        "model": args.gguf.name if args.gguf else "embedded SmolLM2-135M-Instruct",
        "machine": {
            "arch": platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {pkg: importlib.metadata.version(pkg) for pkg in ("dspy", "gepa", "llama_cpp_python")},
        "git": git_state(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "limit": args.limit,
        "n_train": len(task.train),
        "n_val": len(task.val),
        "n_test": n,
        "test_ids": [example.id for example in task.test],
        "test_before": sum(result.scores_before) / n if n else 0.0,
        "test_after": sum(result.scores_after) / n if n else 0.0,
        "wall_s": round(result.wall_s, 1),
        "total_wall_s": round(time.perf_counter() - started, 1),
        **{key: value for key, value in asdict(result).items() if key != "wall_s"},
    }


def write_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def table(folder: Path) -> str:
    """One markdown table: rows task × arm; per seed test before → after, paired wins / losses, calls."""
    runs: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        runs.setdefault((data["task"], data["arm"]), {})[data["seed"]] = data
    seeds = sorted({seed for by_seed in runs.values() for seed in by_seed})
    head = ["task", "arm", *(f"seed {s}: test % before → after (wins / losses)" for s in seeds)]
    head += ["mean gain (points)", "training LM calls", "wall s"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for (task, arm), by_seed in sorted(runs.items()):
        cells, gains, calls, walls = [], [], [], []
        for seed in seeds:
            data = by_seed.get(seed)
            if data is None:
                cells.append("—")
                continue
            pairs = list(zip(data["scores_before"], data["scores_after"], strict=True))
            wins = sum(after > before for before, after in pairs)
            losses = sum(after < before for before, after in pairs)
            cells.append(f"{pct(data['test_before'])} → {pct(data['test_after'])} (+{wins} / −{losses})")
            gains.append(data["test_after"] - data["test_before"])
            calls.append(str(data["training_calls"]["calls"]))
            walls.append(f"{data['wall_s']:.0f}")
        mean = f"{100 * sum(gains) / len(gains):+.1f}" if gains else "—"
        n = next(iter(by_seed.values()))
        lines.append(f"| {task} ({n['n_train']}/{n['n_val']}/{n['n_test']}) | {arm} | " + " | ".join(cells)
                     + f" | {mean} | {', '.join(calls)} | {', '.join(walls)} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="humaneval")
    parser.add_argument("--arm", choices=ARMS, default="ann")
    parser.add_argument("--seed", type=int, default=0, help="optimizer and sampling seed; the split stays fixed")
    parser.add_argument("--table", action="store_true", help="print the table of every result file and exit")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"result folder (default: {RESULTS})")
    parser.add_argument("--budget", type=int, default=BUDGET, help=f"training LM calls (default: {BUDGET})")
    parser.add_argument("--gguf", type=Path, help="GGUF model file (default: Qwen2.5-Coder-0.5B for Qwen tasks)")
    parser.add_argument("--epochs", type=int, help="ann: passes over the training set")
    parser.add_argument("--patience", type=int, help="ann: steps without a validation gain before stopping")
    parser.add_argument("--lr", type=float, help="ann: textual learning rate (a variant: its own result file)")
    parser.add_argument("--demos", type=int, help="ann: demos per agent (a variant)")
    parser.add_argument("--demo-source", choices=["bootstrap", "labeled"], help="ann: demo source (a variant)")
    parser.add_argument("--reflection-max-tokens", type=int, default=512, help="GEPA reflection reply cap")
    parser.add_argument("--limit", type=int, help="keep only the first N examples of each split (a smoke run)")
    parser.add_argument("--concurrency", type=int, default=2, help="model calls in flight (default: 2)")
    parser.add_argument("--timeout", type=float, default=600.0, help="per-call timeout in seconds (default: 600)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/ann-bench-generalize"),
                        help="run directories and call caches; the run's folder is emptied first")  # fmt: skip
    resume = "gepa arms: continue a killed run from its work dir (GEPA state, calls so far, test before)"
    parser.add_argument("--resume", action="store_true", help=resume)
    args = parser.parse_args()
    if args.resume and args.arm == "ann":
        parser.error("--resume is for the gepa arms")
    if args.arm != "ann" and variant(args):
        parser.error("--lr, --demos and --demo-source are settings of the ann arm")
    if args.table:
        print(table(args.out))
        return
    entry = TASKS[args.task]
    if entry.qwen:
        args.gguf = args.gguf or qwen_coder_gguf()
    flags = {
        "epochs": args.epochs,
        "patience": args.patience,
        "lr": args.lr,
        "demos": args.demos,
        "demo_source": args.demo_source,
    }
    # The budget is calls, the same for every arm; a wall-time cap would measure the machine's load instead.
    overrides = {**DEFAULTS.get(args.task, {}), "max_calls": args.budget, "max_time": None}
    overrides.update({key: value for key, value in flags.items() if value is not None})
    task = entry.load(overrides, args.limit)
    name = f"{args.task}-{arm_label(args).replace(' ', '-')}-s{args.seed}"
    work = args.work / name
    if not args.resume:
        shutil.rmtree(work, ignore_errors=True)  # a cold cache is an empty one
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    connect(gguf=args.gguf, cache=False)  # starts the model server; every later client reuses it
    print(f"{name}: train {len(task.train)} / val {len(task.val)} / test {len(task.test)}; budget {args.budget} "
          f"LM calls; model {args.gguf.name if args.gguf else 'embedded'}; work dir {work}", flush=True)  # fmt: skip
    result = (run_ann if args.arm == "ann" else run_gepa)(task, args, work)
    path = args.out / f"{name}.json"
    write_atomic(path, record(args.task, task, args, result, started=started))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
