"""`ann show SPEC|BUNDLE`: the graph as a tree — layers, team types, agents and their params.

It imports nothing: a Python tools module is parsed for its functions' names and docstrings.
"""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from ann.build import graph_from_spec
from ann.bundle import restore_params, spec_from_graph, verify_bundle
from ann.cli.common import read_source
from ann.errors import ConfigError
from ann.graph import Graph
from ann.tools.module import read_tools


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def graph_tree(graph: Graph) -> Tree:
    tree = Tree(f"[bold]{escape(graph.name)}[/bold] — inputs {graph.inputs} → outputs {graph.outputs}")
    for name in graph.order:
        layer = graph.layers[name]
        options = f" {escape(json.dumps(layer.options))}" if layer.options else ""
        samples = f", {layer.samples} samples each" if layer.samples > 1 else ""
        branch = tree.add(
            f"[bold]{escape(name)}[/bold] [cyan]{layer.aggregator.value}[/cyan]{options} — "
            f"reads {layer.inputs}, writes {layer.outputs}{samples}"
        )
        for agent in layer.agents:
            node = branch.add(f"agent [green]{escape(agent.name)}[/green]: {_short(agent.role.value) or '(no role)'}")
            if agent.instructions.value:
                node.add(f"instructions: {_short(agent.instructions.value)}")
            demos = agent.demo_examples()
            if demos:
                node.add(f"{len(demos)} demos")
            for tool in agent.tools:
                node.add(f"tool [magenta]{escape(tool.name)}[/magenta]: {_short(tool.doc.value) or '(undocumented)'}")
        if layer.team_type is not None:
            for text_name, param in layer.team_type.texts.items():
                branch.add(f"{text_name}: {_short(param.value)}")
    return tree


def run_show(args: argparse.Namespace, console: Console) -> int:
    if args.verify:
        if not str(args.spec).endswith(".json"):
            raise ConfigError(f"{args.spec}: --verify checks a bundle's content hash; a spec has none")
        digest = verify_bundle(args.spec)
        out = Console(stderr=True, emoji=False) if args.json else console  # --json keeps stdout one JSON document
        out.print(f"sha256 {digest}: content matches", highlight=False, soft_wrap=True)
    spec, path, bundle = read_source(args, imports=False)
    graph = graph_from_spec(spec, source=path, tools=read_tools(spec.tools) if spec.tools else {})
    if bundle is not None:
        restore_params(graph, bundle)
    if args.json:
        console.print_json(spec_from_graph(graph, base=spec).model_dump_json())
        return 0
    console.print(graph_tree(graph))
    if bundle is not None and bundle.scores.best is not None:
        console.print(f"validation {bundle.scores.baseline:.3f} → {bundle.scores.best:.3f}")
    return 0
