"""`ann search SPEC --val F --out DIR --trials N`: an Optuna study over a spec's discrete choices."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

# `ann compile`'s settings a trial's compile takes from the spec; --compile-calls is its only budget.
NOT_PER_TRIAL = ("max_calls", "max_cost", "max_time", "draft")


def run_search(args: argparse.Namespace, console: Console) -> int:
    from contextlib import nullcontext

    from rich.live import Live

    from ann.cli.common import check_output, open_dataset, read_source
    from ann.cli.eval import spec_metric
    from ann.errors import ConfigError
    from ann.search.runner import run_trials, write_best
    from ann.search.space import default_space
    from ann.search.study import open_study, trial_row
    from ann.search.trial import check_space
    from ann.search.view import SearchView

    spec, path, _ = read_source(args)
    if spec.graph is None:
        raise ConfigError(f"{path}: the spec has no graph to search; plan one first with `ann plan`")
    if args.trials < 0 or args.compile_calls < 0 or args.heartbeat < 1:
        raise ConfigError("--trials and --compile-calls must be 0 or more, --heartbeat 1 or more")
    training = args.compile_calls > 0
    space = spec.search or default_space([(layer.name, layer.aggregator) for layer in spec.graph.layers],
                                         training=training)  # fmt: skip
    check_space(spec, space, str(path), training=training)
    args.out = args.out or Path("runs") / "search" / spec.name
    check_output(args.out, "--out", folder=True)
    if args.val is None:
        if not (path.parent / "val.jsonl").is_file():
            raise ConfigError(f"no --val given and no val.jsonl beside {path}")
        args.val = str(path.parent / "val.jsonl")
    val = open_dataset(args.val, spec.inputs)
    train = open_dataset(args.train, spec.inputs) if args.train else []
    if not val:
        raise ConfigError(f"{args.val}: no examples to score trials on")
    if args.compile_calls and not train:
        raise ConfigError("--compile-calls needs a non-empty --train set")
    spec_metric(spec, None)
    args.out.mkdir(parents=True, exist_ok=True)
    with_cost = args.objective == "score,cost"
    name = args.study or spec.name
    storage = args.storage or f"sqlite:///{(args.out / 'study.db').resolve()}"
    # Workers sharing a storage must not draw the same sequence; one local study replays its seed.
    grid = space.grid_size()
    exhaustive = grid is not None and grid <= args.trials
    study = open_study(storage, name, with_cost=with_cost, heartbeat_s=args.heartbeat,
                       seed=None if args.storage else args.seed, exhaustive=exhaustive)  # fmt: skip
    view = SearchView(name, args.trials, with_cost)
    kit = _trial_kit(args, spec, path, space, train, val, view, with_cost=with_cost)
    with nullcontext() if args.json else Live(view, console=console, refresh_per_second=4):
        run_trials(study, kit, trials=args.trials, timeout=args.max_time, view=view)
    if not args.json and not console.is_terminal:
        console.line()  # rich ends a Live's last frame without a newline when output is not a terminal
    best = write_best(study, args.out / "bundle.json")
    summary: dict[str, Any] = {"study": name, "trials": view.rows, "best": trial_row(best) if best else None,
                               "bundle": str(args.out / "bundle.json") if best else None}  # fmt: skip
    if args.report:
        from ann.search.report import write_plots

        summary["plots"] = write_plots(study, args.out)
    if args.json:
        console.print_json(data=summary)
    else:
        _print_summary(console, summary)
    if best is None:
        raise ConfigError(f"study {name!r}: no trial finished, so there is no bundle to write")
    return 0


def _trial_kit(
    args: argparse.Namespace, spec: Any, path: Path, space: Any, train: list, val: list, view: Any, *, with_cost: bool
) -> Any:
    """What each trial needs: graph building, one model client per model tried, the metric."""
    from ann.build import graph_from_spec
    from ann.cli.common import open_model
    from ann.cli.compile import SETTINGS
    from ann.cli.eval import spec_metric
    from ann.search.objective import TrialKit

    clients: dict[str | None, Any] = {}

    def trial_model(trial_spec: Any, model: str | None) -> Any:
        if model not in clients:
            clients[model] = open_model(args, trial_spec, model=model) if model else open_model(args, trial_spec)
        return clients[model]

    return TrialKit(
        spec=spec, space=space, val=val, train=train,
        build=lambda trial_spec: graph_from_spec(trial_spec, source=path),
        open_model=trial_model,
        metric=lambda trial_spec, lm: spec_metric(trial_spec, None, lm=lm),
        compile_calls=args.compile_calls,
        train_settings={name: getattr(spec.train, name) for name in SETTINGS if name not in NOT_PER_TRIAL},
        with_cost=with_cost, seed=args.seed, on_event=view.event,
    )  # fmt: skip


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    best = summary["best"]
    if best is None:
        return
    params = ", ".join(f"{key}={value}" for key, value in best["params"].items())
    cost = f", {best['calls_per_example']} calls / example" if best.get("calls_per_example") is not None else ""
    lines = [f"best: trial {best['number']}, validation {best['score']:.3f}{cost} ({params})",
             f"bundle: {summary['bundle']}"]  # fmt: skip
    lines += [f"plot {name}: {where}" for name, where in summary.get("plots", {}).items()]
    console.print("\n".join(lines), soft_wrap=True, markup=False, highlight=False)
