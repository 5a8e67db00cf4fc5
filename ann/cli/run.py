"""`ann run SPEC --input JSON` or `--data FILE --out FILE`: run a graph and print or save its outputs."""

from __future__ import annotations

import argparse
import asyncio
import json

from rich.console import Console
from rich.progress import Progress

from ann.cli.common import check_output, open_dataset, open_graph, open_model
from ann.datasets.example import Example
from ann.engine import Result
from ann.errors import ConfigError
from ann.io import atomic_write_text
from ann.trace import save_traces


def _parse_input(text: str, inputs: list[str]) -> dict:
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--input: not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(values, dict):
        raise ConfigError('--input: must be a JSON object such as \'{"question": "..."}\'')
    missing = [name for name in inputs if name not in values]
    if missing:
        raise ConfigError(f"--input: missing fields {missing} (the spec's inputs are {inputs})")
    return values


def run_run(args: argparse.Namespace, console: Console) -> int:
    spec, graph = open_graph(args)
    check_output(args.out, "--out")
    check_output(args.traces, "--traces")
    if args.input is not None:
        examples = [Example(inputs=_parse_input(args.input, spec.inputs), id="input")]
    else:
        examples = open_dataset(args.data, spec.inputs)
    client = open_model(args, spec)
    with Progress(console=console, disable=args.json or len(examples) == 1, transient=True) as progress:
        task = progress.add_task("run", total=len(examples))
        results = asyncio.run(graph.abatch(examples, lm=client, on_result=lambda _e, _r: progress.advance(task)))
    if args.traces:
        save_traces([r.trace for r in results], args.traces)
    rows = [_row(example, result) for example, result in zip(examples, results, strict=True)]
    if args.out:
        atomic_write_text(args.out, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
        console.print(f"wrote {len(rows)} outputs to {args.out}")
    elif args.json or len(rows) > 1:
        for row in rows:
            console.print_json(json.dumps(row, ensure_ascii=False))
    else:
        row = rows[0]
        if row.get("error"):
            console.print(f"[red]failed:[/red] {row['error']}")
        for name, value in row["outputs"].items():
            console.print(f"[bold]{name}[/bold]: {value}")
    return 1 if any(r.error for r in results) and len(results) == 1 else 0


def _row(example: Example, result: Result) -> dict:
    row = {"id": example.id, "outputs": result.outputs}
    if result.error:
        row["error"] = result.error
    return row
