"""`ann plan SPEC --train F`: have the planner model propose a graph; print it, optionally save it."""

from __future__ import annotations

import argparse
import asyncio

from rich.console import Console

from ann.build import graph_from_spec
from ann.cli.common import check_output, open_dataset, open_model, open_spec
from ann.cli.show import graph_tree
from ann.embed import installed_local_embedder
from ann.optimizers.guards import Guards
from ann.optimizers.planner import plan_graph
from ann.spec import Spec, save_spec


async def planned_spec(args: argparse.Namespace, spec: Spec, train: list) -> Spec:
    """The spec with a graph from the planner (the optimizer model, or the forward model)."""
    planner = open_model(args, spec, model=getattr(args, "optimizer_model", None) or spec.train.optimizer_model,
                         max_tokens=1024)  # fmt: skip
    choices = [choice for options in spec.choices().values() for choice in options]
    context = "\n".join([spec.description, *spec.inputs, *spec.outputs, *spec.descriptions().values(), *choices])
    guards = Guards(train, embedder=installed_local_embedder(), context=context)
    return await plan_graph(spec, train, planner, max_layers=args.max_layers, max_agents=args.max_agents or 3,
                            guards=guards)  # fmt: skip


def run_plan(args: argparse.Namespace, console: Console) -> int:
    spec, _ = open_spec(args)
    check_output(args.write, "--write")
    train = open_dataset(args.train, spec.inputs) if args.train else []
    planned = asyncio.run(planned_spec(args, spec, train))
    console.print(graph_tree(graph_from_spec(planned)))
    if args.write:
        save_spec(planned, args.write)
        console.print(f"wrote {args.write}")
    return 0
