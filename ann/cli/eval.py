"""`ann eval SPEC --data FILE`: score a graph on a dataset, with a progress bar and a summary table."""

from __future__ import annotations

import argparse
import asyncio
import json

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ann.cli.common import check_output, open_dataset, open_graph, open_model
from ann.datasets import METRICS, make_metric
from ann.errors import ConfigError
from ann.evaluate import EvalReport, Scored, aevaluate
from ann.lm import ModelClient
from ann.spec import Spec
from ann.trace import save_traces


def spec_metric(spec: Spec, name: str | None, *, lm: ModelClient | None = None):
    """The metric from the flag or the spec; options default to the spec's first output field.

    ``llm_judge`` is graded by the run's model unless ``lm`` is None (then only the name is checked).
    """
    options = dict(spec.metric.options) if spec.metric and not name else {}
    chosen = name or (spec.metric.name if spec.metric else None)
    if chosen is None:
        raise ConfigError(f"spec '{spec.name}': no metric; add `metric: exact_match` to the spec or pass --metric")
    if chosen not in METRICS:
        raise ConfigError(f"unknown metric '{chosen}'; known: {', '.join(METRICS)}")
    options.setdefault("field", spec.outputs[0])
    if chosen == "llm_judge":
        if "rubric" not in options:
            raise ConfigError("metric 'llm_judge' needs a rubric: metric: {name: llm_judge, options: {rubric: ...}}")
        if lm is None:
            return None
        options.setdefault("lm", lm)
    return make_metric(chosen, **options)


def run_eval(args: argparse.Namespace, console: Console) -> int:
    spec, graph = open_graph(args)
    check_output(args.traces, "--traces")
    metric = spec_metric(spec, args.metric)
    examples = open_dataset(args.data, spec.inputs)
    if args.limit is not None:
        examples = examples[: args.limit]
    if not examples:
        raise ConfigError(f"{args.data}: no examples to evaluate")
    client = open_model(args, spec)
    metric = metric or spec_metric(spec, args.metric, lm=client)
    progress = Progress(
        TextColumn("[bold]eval[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("score {task.fields[score]:.3f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=args.json,
        transient=False,
    )
    running = {"sum": 0.0, "n": 0}
    with progress:
        task = progress.add_task(spec.name, total=len(examples), score=0.0)

        def tick(item: Scored) -> None:
            running["sum"] += item.metric.score
            running["n"] += 1
            progress.update(task, advance=1, score=running["sum"] / running["n"])

        report = asyncio.run(aevaluate(graph, examples, metric, lm=client, on_scored=tick))
    if args.traces:
        save_traces([s.result.trace for s in report.scored], args.traces)
    summary = summarise(report, model=client.config.describe(), metric=metric.name)
    if args.json:
        console.print_json(json.dumps(summary))
    else:
        console.print(summary_table(spec.name, summary))
    return 0


def summarise(report: EvalReport, *, model: str, metric: str) -> dict:
    return {
        "score": round(report.score, 4),
        "examples": report.n,
        "failed_runs": report.failures,
        "parse_failures": report.parse_failures,
        "metric": metric,
        "model": model,
        "calls": report.usage.calls,
        "failed_attempts": report.usage.failed_attempts,
        "cache_hits": report.usage.cache_hits,
        "prompt_tokens": report.usage.prompt_tokens,
        "completion_tokens": report.usage.completion_tokens,
        "cost_usd": round(report.usage.cost, 6),
        "wall_s": round(report.wall_s, 2),
    }


def summary_table(name: str, summary: dict) -> Table:
    table = Table(title=f"ann eval — {name}", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key.replace("_", " "), f"{value}")
    return table
