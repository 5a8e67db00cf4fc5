"""`ann compile SPEC --train F --val F --out DIR`: train a graph and write its bundle and report."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ann.build import graph_from_spec
from ann.bundle import Scores, make_bundle, save_bundle
from ann.cli.common import build_graph, check_output, open_dataset, open_model, read_source
from ann.cli.eval import spec_metric
from ann.cli.plan import planned_spec
from ann.cli.show import graph_tree
from ann.cli.tools import check_unsafe, draft_settings
from ann.errors import ConfigError, TooManyFailures
from ann.io import remove_stale_temps
from ann.lm import ModelClient
from ann.optimizers import ANNOptimizer, StepRecord, TrainingRun
from ann.optimizers.planner import PlanError, fallback_plan
from ann.report import write_history, write_report
from ann.spec import Spec, TrainSpec, load_spec, save_spec

SETTINGS = (
    "epochs", "batch_size", "patience", "momentum", "candidates", "demos", "demo_source", "lr", "alpha", "structure",
    "max_agents", "max_calls", "max_cost", "max_time", "draft",
)  # fmt: skip


def settings(args: argparse.Namespace, train: TrainSpec) -> dict[str, Any]:
    """The spec's training settings with the flags given on the command line on top."""
    chosen = {name: getattr(train, name) for name in SETTINGS}
    chosen.update({name: getattr(args, name) for name in SETTINGS if getattr(args, name) is not None})
    try:
        TrainSpec(**chosen)
    except ValidationError as exc:
        error = exc.errors()[0]
        flag = "--" + str(error["loc"][0]).replace("_", "-")
        raise ConfigError(f"bad training setting {flag} {error['input']}: {error['msg']}") from exc
    return chosen


class LiveView:
    """What a user watches during training: phase, scores, accept/revert counts, spend, ETA."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.phase = "starting"
        self.baseline: float | None = None
        self.last: StepRecord | None = None
        self.info: dict[str, Any] = {}
        self.history: list[StepRecord] = []
        self.warnings: list[str] = []
        self.started = time.monotonic()

    def event(self, kind: str, info: dict[str, Any]) -> None:
        if kind == "warning":
            self.warnings.append(info["text"])
        elif kind == "phase":
            self.phase = info["phase"]
        elif kind == "baseline":
            self.baseline = info["score"]
            self.phase = "training"
        elif kind == "step":
            self.last = info["record"]
            self.history.append(info["record"])
            self.info = info
        elif kind == "stop":
            self.phase = f"stopped: {info['reason']}"

    def __rich__(self) -> Group:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        best = self.last.best_score if self.last else self.baseline
        for warning in self.warnings:
            table.add_row("[yellow]warning[/yellow]", warning)
        table.add_row("phase", self.phase)
        table.add_row("validation", "…" if self.baseline is None else f"{self.baseline:.3f} → best {best:.3f}")
        if self.last is not None:
            val = "—" if self.last.val_score is None else f"{self.last.val_score:.3f}"
            train = self.last.train_score
            kind = self.last.note.split(":")[0] if train is None else f"train {train:.3f}"
            table.add_row("last step", f"{self.last.step}: {kind}, proposal {val}")
        kept = sum(r.accepted for r in self.history)
        tried = sum(r.val_score is not None for r in self.history)
        table.add_row("accepted", f"{kept} kept / {tried - kept} reverted")
        usage = self.info.get("usage")
        if usage is not None:
            table.add_row("spend", f"{usage.calls} calls, {usage.total_tokens} tokens, ${usage.cost:.4f}")
        elapsed = time.monotonic() - self.started
        eta = ""
        total, done = self.info.get("total_steps"), len(self.history)
        if total and done and not self.phase.startswith("stopped"):
            eta = f", ETA ≤ {elapsed / done * max(total - done, 0):.0f} s"
        table.add_row("elapsed", f"{elapsed:.0f} s{eta}")
        return Group(Text(f"ann compile — {self.name}", style="bold"), table)


def run_compile(args: argparse.Namespace, console: Console) -> int:
    spec, path, bundle = read_source(args)
    check_output(args.out, "--out", folder=True)
    if spec.graph is not None and not args.plan:
        graph = build_graph(spec, path, bundle)
    chosen = settings(args, spec.train)
    draft = draft_settings(args) if chosen["draft"] else None
    train = open_dataset(args.train, spec.inputs)
    val = open_dataset(args.val, spec.inputs)
    holdout = open_dataset(args.holdout, spec.inputs) if args.holdout else None
    if not train or not val:
        raise ConfigError("compile needs non-empty --train and --val sets")
    spec_metric(spec, None)
    checkpoint = args.out / "checkpoint.json"
    if checkpoint.exists() and not args.resume:
        raise ConfigError(f"{args.out} already holds a run; pass --resume to continue it or choose another --out")
    if args.out.is_dir():
        remove_stale_temps(args.out)  # what a kill mid-write left; the files themselves are whole
    forward = open_model(args, spec)
    if spec.graph is None or args.plan:
        spec = _plan(args, spec, train, console)
        graph = graph_from_spec(spec, source=path)
    graph.lm = forward
    optimizer_model = args.optimizer_model or spec.train.optimizer_model
    optimizer_lm = open_model(args, spec, model=optimizer_model, max_tokens=spec.train.optimizer_max_tokens)
    metric = spec_metric(spec, None, lm=forward)
    before = graph.state_dict()
    view = LiveView(spec.name)
    for warning in check_unsafe(draft, graph.tools()) if draft is not None else []:
        view.event("warning", {"text": warning})
    optimizer = ANNOptimizer(lm=optimizer_lm, seed=args.seed, checkpoint=checkpoint, on_event=view.event,
                             **{**chosen, "draft": draft})  # fmt: skip
    live = nullcontext() if args.json else Live(view, console=console, refresh_per_second=4)
    with live:
        try:
            asyncio.run(optimizer.acompile(graph, trainset=train, valset=val, metric=metric, holdout=holdout,
                                           resume=args.resume))  # fmt: skip
        except KeyboardInterrupt:
            console.print(f"interrupted; the last finished step is saved — continue with: --out {args.out} --resume")
            return 130
        except TooManyFailures as exc:
            if not checkpoint.exists():
                raise
            saved = f"{exc}; the last finished step is saved — continue with: --out {args.out} --resume"
            raise TooManyFailures(saved) from exc
    if not args.json and not console.is_terminal:
        console.line()  # rich ends a Live's last frame without a newline when output is not a terminal
    run: TrainingRun = optimizer.last_run  # type: ignore[assignment]  # set by every finished compile
    bundle_path = _write_outputs(args.out, spec, graph, run, before, chosen, forward, optimizer_lm)
    summary = {
        "val_before": round(run.baseline_score, 4),
        "val_after": round(run.best_score, 4),
        "steps": len(run.history),
        "accepted": sum(r.accepted for r in run.history),
        "stopped": run.stopped,
        "holdout": run.holdout or None,
        "calls": run.usage.calls,
        "failed_attempts": run.usage.failed_attempts,
        "prompt_tokens": run.usage.prompt_tokens,
        "completion_tokens": run.usage.completion_tokens,
        "cost_usd": round(run.usage.cost, 6),
        "bundle": str(bundle_path),
        "report": str(args.out / "report.md"),
    }
    if args.json:
        console.print_json(json.dumps(summary))
    else:
        console.print(
            f"validation {run.baseline_score:.3f} → {run.best_score:.3f} in {len(run.history)} "
            f"step{'' if len(run.history) == 1 else 's'} "
            f"({summary['accepted']} kept; {run.stopped})\n{_holdout_line(run)}"
            f"bundle: {bundle_path}\nreport: {args.out / 'report.md'}",
            soft_wrap=True,  # paths stay whole, to copy
        )
    return 0


def _holdout_line(run: TrainingRun) -> str:
    if not run.holdout:
        return ""
    h = run.holdout
    scores = f"untrained {h['untrained']:.3f}, trained {h['trained']:.3f}"
    return f"holdout ({h['n']} examples): {scores}; kept the {h['picked']}\n"


def _plan(args: argparse.Namespace, spec: Spec, train: list, console: Console) -> Spec:
    """The planned spec, kept in the run directory so that --resume trains the same graph."""
    plan_file = args.out / "plan.yaml"
    if args.resume and plan_file.exists():
        # The tools are the ones the checked spec names, never a path read back from the run directory.
        return load_spec(plan_file).model_copy(update={"tools": spec.tools})
    try:
        planned = asyncio.run(planned_spec(args, spec, train))
    except PlanError as exc:
        console.print(f"[yellow]{escape(str(exc))}[/yellow]; starting from a one-agent graph instead")
        planned = fallback_plan(spec)
    save_spec(planned, plan_file)
    if not args.json:
        console.print(graph_tree(graph_from_spec(planned)))
    return planned


def _write_outputs(
    out: Path,
    spec: Any,
    graph: Any,
    run: TrainingRun,
    before: dict[str, str],
    chosen: dict[str, Any],
    forward: ModelClient,
    optimizer: ModelClient,
) -> Path:
    # The bundle names models without endpoints: a local server's port changes every run.
    bundle = make_bundle(
        graph,
        spec=spec,
        scores=Scores(baseline=run.baseline_score, best=run.best_score),
        data=run.data,
        draft=run.draft,
        training={
            **chosen,
            "steps": len(run.history),
            "accepted": sum(r.accepted for r in run.history),
            "stopped": run.stopped,
            **({"holdout": run.holdout} if run.holdout else {}),
            "model": forward.config.label or forward.config.model,
            "optimizer_model": optimizer.config.label or optimizer.config.model,
        },  # fmt: skip
    )
    bundle_path = out / "bundle.json"
    save_bundle(bundle, bundle_path)
    write_history(run, out / "history.jsonl")
    models = f"{forward.config.describe()}; optimizer: {optimizer.config.describe()}"
    write_report(run, before, graph.state_dict(), out / "report.md", title=spec.name, model=models)
    return bundle_path
