"""`ann tools refine TARGET --out DIR`: rewrite tool docs by exploring the tools for real (DRAFT).

TARGET is a tools module (``tools.py``), a spec whose agents use tools, or a bundle. Every
episode is printed as it finishes; ``DIR/draft.json`` (the exploration logs) and ``DIR/tools.md``
(the refined docs) are rewritten after each tool, so an interrupted run keeps the tools already
done. From a spec or bundle, ``DIR/bundle.json`` is the graph with the refined docs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

import ann
from ann.bundle import make_bundle, save_bundle
from ann.cli.common import check_output, open_graph, open_model
from ann.embed import get_embedder
from ann.errors import ConfigError
from ann.graph import Graph
from ann.io import atomic_write_text
from ann.lm import ModelClient
from ann.optimizers.draft import refine_tool
from ann.optimizers.proposers.draft import DraftSettings
from ann.spec import Spec
from ann.tools.exploration import DraftRun, Episode
from ann.tools.module import API_SUFFIXES, load_tools, tools_digest
from ann.tools.tool import Tool

DRAFT_MAX_TOKENS = 512  # a rewritten doc of up to 150 words, as JSON


def draft_settings(args: argparse.Namespace) -> DraftSettings:
    """The DRAFT flags, checked before any model starts, with the embedder they name."""
    if args.episodes < 1:
        raise ConfigError(f"--episodes must be 1 or more, got {args.episodes}")
    for name in ("phi", "tau"):
        if not 0 < getattr(args, name) <= 2:
            raise ConfigError(f"--{name} must be in (0, 2], got {getattr(args, name)}")
    embedder = get_embedder(args.embed_model, api_base=args.embed_api_base)
    allowed = frozenset(args.draft_allow_unsafe or [])
    return DraftSettings(args.episodes, args.phi, args.tau, embedder, allow_unsafe=allowed)


def check_unsafe(settings: DraftSettings, tools: list[Tool]) -> list[str]:
    """Warnings for the tools DRAFT will skip as unsafe.

    Raises:
        ConfigError: ``--draft-allow-unsafe`` names a tool that does not exist.
    """
    names = {tool.name for tool in tools}
    unknown = sorted(settings.allow_unsafe - names)
    if unknown:
        raise ConfigError(f"--draft-allow-unsafe {unknown[0]}: no such tool to explore; there are {sorted(names)}")
    skipped = [tool for tool in tools if not tool.safe and tool.name not in settings.allow_unsafe]
    return [f"DRAFT will not call {tool.name} ({tool.method} is not a safe method); allow it with "
            f"--draft-allow-unsafe {tool.name}" for tool in skipped]  # fmt: skip


def is_tools_file(path: Path) -> bool:
    """A tools module or an API description, rather than a spec or a bundle."""
    if path.suffix == ".py":
        return True
    if path.suffix not in API_SUFFIXES or not path.is_file():
        return False
    try:  # libyaml when present: PyYAML's own parser takes minutes on a file nested 20,000 deep
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeError, ValueError, RecursionError, yaml.YAMLError):
        return False  # reported by the spec loader, which names the line
    return isinstance(document, dict) and ("openapi" in document or "operations" in document)


def run_refine(args: argparse.Namespace, console: Console) -> int:
    check_output(args.out, "--out", folder=True)
    settings = draft_settings(args)
    spec: Spec | None = None
    graph: Graph | None = None
    if is_tools_file(Path(args.target)):
        tools, module = list(load_tools(args.target).values()), Path(args.target)
    else:
        args.spec = args.target
        spec, graph = open_graph(args)
        tools, module = graph.tools(), Path(spec.tools) if spec.tools else None
        if not tools:
            raise ConfigError(f"{args.target}: no agent in this graph uses tools")
    if args.only:
        unknown = sorted(set(args.only) - {tool.name for tool in tools})
        if unknown:
            raise ConfigError(f"--only {unknown[0]}: no such tool; there are {sorted(t.name for t in tools)}")
        tools = [tool for tool in tools if tool.name in args.only]
    for warning in check_unsafe(settings, tools):
        console.print(f"[yellow]{escape(warning)}[/yellow]", highlight=False, soft_wrap=True)
    lm = open_model(args, spec, max_tokens=max(DRAFT_MAX_TOKENS, spec.model.max_tokens if spec else 0))
    args.out.mkdir(parents=True, exist_ok=True)
    console.print(f"DRAFT on {len(tools)} tool{'s' if len(tools) != 1 else ''} with {lm.config.describe()}; "
                  f"embeddings: {settings.embedder.name}", highlight=False)  # fmt: skip
    header = {
        "ann_version": ann.__version__,
        "model": lm.config.label or lm.config.model,
        "embedder": settings.embedder.name,
        "settings": settings.knobs(),
        "module": str(module) if module else None,
        "module_sha256": tools_digest(module) if module else None,
    }
    runs = asyncio.run(_refine_all(tools, lm, settings, console, args.out, header))
    written = [args.out / "draft.json", args.out / "tools.md"]
    if graph is not None and spec is not None:
        save_bundle(make_bundle(graph, spec=spec, draft=runs), args.out / "bundle.json")
        written.append(args.out / "bundle.json")
    usage = lm.usage
    console.print(f"{usage.calls} model calls, {usage.prompt_tokens + usage.completion_tokens} tokens")
    for path in written:
        console.print(f"wrote {path}", highlight=False)
    return 0


async def _refine_all(
    tools: list[Tool], lm: ModelClient, settings: DraftSettings, console: Console, out: Path, header: dict[str, Any]
) -> list[DraftRun]:
    runs: list[DraftRun] = []
    for tool in tools:
        console.rule(f"[bold]{escape(tool.name)}[/bold]")
        console.print(f"doc before: {escape(tool.doc.value or '(none)')}", highlight=False)
        with console.status(f"exploring {tool.name} (up to {settings.episodes} episodes)…"):
            run = await refine_tool(tool, lm, settings.embedder, **settings.knobs(),
                                    on_episode=lambda r, e: _show(console, r, e),
                                    allow_unsafe=tool.name in settings.allow_unsafe)  # fmt: skip
        console.print(f"[dim]{escape(run.stopped)}[/dim]")
        runs.append(run)
        _write(out, header, runs)
    return runs


def _show(console: Console, run: DraftRun, episode: Episode) -> None:
    number = len(run.episodes)
    outcome = "[green]ok[/green]" if episode.ok else "[red]error[/red]"
    again = f", asked again {episode.regenerations}× for being too similar" if episode.regenerations else ""
    body = (f"[bold]probe[/bold] {escape(json.dumps(episode.args))}{again}\n"
            f"[bold]result[/bold] ({outcome}) {escape(episode.result[:300])}\n"
            f"[bold]analysis[/bold] {escape(episode.suggestions[:400])}\n"
            f"[bold]new doc[/bold] {escape(episode.doc)}")  # fmt: skip
    console.print(Panel(body, title=f"{run.tool} · episode {number}", subtitle=f"Δ {episode.delta:.2f}",
                        title_align="left"), highlight=False)  # fmt: skip


def _write(out: Path, header: dict[str, Any], runs: list[DraftRun]) -> None:
    """The logs so far, as JSON and as the docs a person reads; atomic, so never half-written."""
    log = {**header, "tools": [run.model_dump() for run in runs]}
    atomic_write_text(out / "draft.json", json.dumps(log, indent=2, ensure_ascii=False) + "\n")
    docs = [f"# Tool docs refined by DRAFT ({log['model']})\n"]
    for run in runs:
        docs.append(f"## {run.tool}\n\n{run.final_doc}\n\n_Before:_ {run.initial_doc or '(none)'}\n\n"
                    f"_{len(run.episodes)} episodes; {run.stopped}._\n")  # fmt: skip
    atomic_write_text(out / "tools.md", "\n".join(docs))
