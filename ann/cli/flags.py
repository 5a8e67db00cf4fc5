"""The `ann` command line: every command's flags, and nothing else.

Building the parser imports only argparse, so `ann show` starts without loading what `ann compile`
needs. Each command names its handler as ``"module:function"``; `main` imports that module only
when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

Commands = argparse._SubParsersAction
Parents = list[argparse.ArgumentParser]

# ann.export.FORMATS, without importing it at startup (a test checks they agree).
EXPORT_FORMATS = ("prompts", "markdown", "mermaid", "graphml", "python", "dspy")


def parser() -> argparse.ArgumentParser:
    """The `ann` parser with every command."""
    root = argparse.ArgumentParser(
        prog="ann", description="Build, run and train Agentic Neural Networks (multi-agent LLM graphs)."
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parents = [model_flags()]
    for add in (_run, _eval, _compile, _search, _show, _diff, _schema, _export, _plan, _tools):
        add(commands, parents)
    return root


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a fraction from 0 to 1, got {text}")
    return value


def model_flags() -> argparse.ArgumentParser:
    """The global flags, accepted by every command (before or after its arguments)."""
    flags = argparse.ArgumentParser(add_help=False)
    group = flags.add_argument_group("model and run settings")
    group.add_argument("--model", help="LiteLLM model string (default: $ANN_MODEL, the spec, else the embedded model)")
    group.add_argument("--api-base", help="OpenAI-compatible endpoint (default: $ANN_API_BASE, else the spec's "
                       "model.api_base, which is sent no API key from the environment)")  # fmt: skip
    group.add_argument("--gguf", type=Path, help="serve this GGUF file locally with llama.cpp and use it")
    group.add_argument("--concurrency", type=_positive, default=4, help="max model calls in flight (default: 4)")
    group.add_argument("--timeout", type=float, default=120.0, help="per-call timeout in seconds (default: 120)")
    group.add_argument(
        "--retries",
        type=_non_negative,
        default=3,
        help="retries per call on 429 / 5xx / resets / timeouts / unreadable replies (default: 3)",
    )
    group.add_argument("--backoff", type=_seconds, default=1.0,
                       help="seconds before the first retry when the server sends no Retry-After; doubles with "
                       "each retry (default: 1)")  # fmt: skip
    group.add_argument("--max-failures", type=_fraction, default=0.25,
                       help="a call that still fails after its retries fails only its example; stop the run when "
                       "more than this fraction of a batch's examples fail so (default: 0.25)")  # fmt: skip
    group.add_argument("--cache-dir", type=Path, help="call cache directory (default: the user cache dir)")
    group.add_argument("--no-cache", action="store_true", help="always call the model; never read or write the cache")
    group.add_argument("--seed", type=int, default=0, help="sampling seed sent with every request (default: 0)")
    group.add_argument("--json", action="store_true", help="print machine-readable JSON instead of tables")
    group.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    group.add_argument("--unsafe-code", action="store_true",
                       help="where bubblewrap is missing, run model-written code (code_pass) without isolation "
                       "instead of refusing; prints a warning")  # fmt: skip
    group.add_argument("--trust-tools", action="store_true",
                       help="import the tools file a spec or bundle names even if it lies outside the file's folder "
                       "or (bundles) differs from its recorded sha256; importing runs its code. (HTTP tool headers "
                       "read only variables listed in $ANN_TOOL_ENV, e.g. KEY or KEY@host)")  # fmt: skip
    return flags


def add_plan_flags(parser: argparse.ArgumentParser) -> None:
    """The planner's limits, shared by `ann plan` and `ann compile --plan`."""
    parser.add_argument("--max-layers", type=int, default=3, help="most layers the planner may propose (default 3)")
    parser.add_argument("--max-agents", type=int, help="most agents per layer (plans: 3; structural edits: 4)")


def add_draft_flags(parser: argparse.ArgumentParser) -> None:
    """The DRAFT settings, shared by `ann tools refine` and `ann compile --draft`."""
    group = parser.add_argument_group("DRAFT (tool documentation) settings")
    group.add_argument("--episodes", type=int, default=5, help="most explorations per tool (default 5)")
    group.add_argument(
        "--phi",
        type=float,
        default=0.9,
        help="a probe must have cosine similarity below this to every earlier one (default 0.9)",
    )
    group.add_argument(
        "--tau",
        type=float,
        default=0.75,
        help="stop once (BLEU + cosine) / 2 of successive docs exceeds this (default 0.75)",
    )
    group.add_argument("--embed-model", help="LiteLLM embedding model (default: the local all-MiniLM-L6-v2)")
    group.add_argument("--embed-api-base", help="endpoint of the embedding model, if not the provider's")  # fmt: skip
    group.add_argument("--draft-allow-unsafe", action="append", metavar="TOOL",
                       help="let DRAFT call this tool with made-up arguments though it is an HTTP operation "
                       "other than GET/HEAD (repeatable); others like it are skipped, as the log says")  # fmt: skip


def _run(commands: Commands, parents: Parents) -> None:
    parser = commands.add_parser("run", parents=parents, help="run a spec on one input or a dataset")
    parser.add_argument("spec", help="the YAML spec")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help='one input as JSON, e.g. \'{"question": "..."}\'')
    source.add_argument("--data", help="JSONL or CSV dataset to run, or `humaneval`")
    parser.add_argument("--out", type=Path, help="with --data: write outputs here as JSONL")
    parser.add_argument("--traces", type=Path, help="write every run's trace to this JSONL file")
    parser.set_defaults(handler="ann.cli.run:run_run")


def _eval(commands: Commands, parents: Parents) -> None:
    parser = commands.add_parser("eval", parents=parents, help="score a spec on a dataset")
    parser.add_argument("spec", help="the YAML spec")
    parser.add_argument("--data", required=True, help="JSONL or CSV dataset, or `humaneval`")
    parser.add_argument("--metric", help="metric name (default: the spec's metric)")
    parser.add_argument("--limit", type=int, help="score only the first N examples")
    parser.add_argument("--traces", type=Path, help="write every run's trace to this JSONL file")
    parser.set_defaults(handler="ann.cli.eval:run_eval")


def _compile(commands: Commands, parents: Parents) -> None:
    parser = commands.add_parser("compile", parents=parents, help="train a spec's prompts on data; write a bundle")
    parser.add_argument("spec", help="the YAML spec")
    parser.add_argument("--train", required=True, help="training set (JSONL or CSV)")
    parser.add_argument("--val", required=True, help="validation set: a change is kept only if it raises this score")
    parser.add_argument("--out", required=True, type=Path, help="run directory: bundle, history, report, checkpoint")
    parser.add_argument("--epochs", type=int, help="passes over the training set (spec, else 2)")
    parser.add_argument("--batch-size", type=int, help="examples per step (spec, else 4)")
    parser.add_argument("--patience", type=int, help="stop after this many steps without a gain (spec, else 3)")
    parser.add_argument("--momentum", type=int, help="past updates shown to the rewriter (spec, else 2)")
    parser.add_argument("--candidates", type=int, help="proposals per step, screened on the minibatch (spec, else 1)")
    parser.add_argument("--holdout", help="a second held-out split: the trained graph is kept only if it scores at "
                        "least as well there as the untrained one")  # fmt: skip
    parser.add_argument("--demos", type=int, help="also try up to N worked examples per agent from solved runs")
    parser.add_argument("--demo-source", choices=["bootstrap", "labeled"],
                        help="demos from the answers chosen in solved runs (bootstrap, the default) or from the "
                        "training examples' expected values (labeled)")  # fmt: skip
    parser.add_argument("--lr", type=float, help="textual learning rate: the largest fraction of a text's words one "
                        "rewrite may change (spec, else 1.0: unbounded)")  # fmt: skip
    parser.add_argument("--alpha", type=float, help="significance level of the gate's paired sign test on validation "
                        "(spec, else 0.05)")  # fmt: skip
    parser.add_argument("--structure", action=argparse.BooleanOptionalAction, default=None,
                        help="also try structural edits: swap a team type, add or remove an agent")  # fmt: skip
    parser.add_argument("--max-calls", type=int, help="stop after this many model calls")
    parser.add_argument("--max-cost", type=float, help="stop after this many US dollars")
    parser.add_argument("--max-time", type=float, help="stop after this many seconds")
    parser.add_argument("--optimizer-model", help="LiteLLM model for the optimizer (default: the forward model)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument(
        "--plan", action="store_true", help="have the planner propose the graph (also when the spec has none)"
    )
    parser.add_argument("--draft", action=argparse.BooleanOptionalAction, default=None,
                        help="first refine the docs of the agents' tools by exploring them (DRAFT)")  # fmt: skip
    add_plan_flags(parser)
    add_draft_flags(parser)
    parser.set_defaults(handler="ann.cli.compile:run_compile")


def _search(commands: Commands, parents: Parents) -> None:
    parser = commands.add_parser("search", parents=parents, help="search team types, sizes, models and settings "
                                 "with Optuna; write the best trial's bundle")  # fmt: skip
    parser.add_argument("spec", help="the YAML spec (its `search:` section is the space; absent: a default space)")
    parser.add_argument("--val", help="validation set: each trial's score (default: val.jsonl beside the spec)")
    parser.add_argument("--train", help="training set, for --compile-calls")
    parser.add_argument("--out", type=Path, help="folder: bundle.json of the best trial, the study (study.db unless "
                        "--storage), plots (default: runs/search/<spec name>)")  # fmt: skip
    parser.add_argument("--trials", type=int, default=20, help="finished trials the study should hold, counted over "
                        "every worker (default: 20)")  # fmt: skip
    parser.add_argument("--storage", help="Optuna storage URL shared by workers, e.g. postgresql://user@host/db "
                        "(default: sqlite in --out)")  # fmt: skip
    parser.add_argument("--study", help="study name (default: the spec's name); the same name joins or resumes it")
    parser.add_argument("--objective", choices=["score", "score,cost"], default="score",
                        help="maximise the validation score, or also minimise model calls per example (a Pareto "
                        "front; the bundle is the best score's cheapest trial)")  # fmt: skip
    parser.add_argument("--max-time", type=float, help="start no trial after this many seconds")
    parser.add_argument("--compile-calls", type=int, default=0, help="train each trial with a compile of at most "
                        "this many model calls; its steps' scores let the pruner stop bad trials (default: 0: "
                        "score the graph as drawn)")  # fmt: skip
    parser.add_argument("--heartbeat", type=int, default=60, help="seconds between a running trial's heartbeats; "
                        "a trial silent for twice this is failed and its choices retried (default: 60)")  # fmt: skip
    parser.add_argument("--report", action="store_true", help="also write the study's history, importance and "
                        "Pareto plots as PNG into --out (with --trials 0: only the plots)")  # fmt: skip
    parser.set_defaults(handler="ann.cli.search:run_search")


def _show(commands: Commands, parents: Parents) -> None:
    parser = commands.add_parser("show", parents=parents, help="print a spec's or bundle's graph as a tree")
    parser.add_argument("spec", help="a YAML spec or a bundle .json")
    parser.add_argument(
        "--verify", action="store_true", help="first check a bundle's content hash; exit 2 if edited or corrupted"
    )
    parser.set_defaults(handler="ann.cli.show:run_show")


def _diff(commands: Commands, parents: Parents) -> None:
    parser = commands.add_parser(
        "diff", parents=parents, help="compare two bundles (or a spec and a bundle): params, structure, demos, scores"
    )
    parser.add_argument("a", help="the 'before' side: a YAML spec or a bundle .json")
    parser.add_argument("b", help="the 'after' side: a YAML spec or a bundle .json")
    parser.set_defaults(handler="ann.cli.diff:run_diff")


def _schema(commands: Commands, parents: Parents) -> None:
    parser = commands.add_parser("schema", parents=parents, help="print the JSON Schema of spec or bundle files")
    parser.add_argument("kind", choices=["spec", "bundle"], help="which file format")
    parser.set_defaults(handler="ann.cli.schema:run_schema")


def _export(commands: Commands, parents: Parents) -> None:
    parser = commands.add_parser(
        "export",
        parents=parents,
        help="export a bundle as chat prompts (JSON), Markdown, Mermaid, GraphML, a standalone Python file "
        "or a DSPy program",
    )
    parser.add_argument("spec", metavar="BUNDLE", help="a bundle .json written by `ann compile`")
    parser.add_argument("--format", required=True, choices=EXPORT_FORMATS, help="what to export")
    parser.add_argument("--out", type=Path, help="write here instead of printing")
    parser.set_defaults(handler="ann.cli.export:run_export")


def _plan(commands: Commands, parents: Parents) -> None:
    parser = commands.add_parser("plan", parents=parents, help="propose a graph for a spec's task")
    parser.add_argument("spec", help="the YAML spec (its graph, if any, is replaced)")
    parser.add_argument("--train", help="training examples shown to the planner (JSONL or CSV)")
    parser.add_argument("--write", type=Path, help="write the spec with the planned graph to this YAML file")
    add_plan_flags(parser)
    parser.set_defaults(handler="ann.cli.plan:run_plan")


def _tools(commands: Commands, parents: Parents) -> None:
    tools = commands.add_parser("tools", help="work on the tools agents call")
    actions = tools.add_subparsers(dest="action", required=True, metavar="ACTION")
    refine = actions.add_parser("refine", parents=parents, help="rewrite tool docs by exploring the tools (DRAFT)")
    refine.add_argument("target", help="a tools module (.py), an API description (OpenAPI or operations: JSON/YAML), "
                        "or a spec or bundle whose agents use tools")  # fmt: skip
    refine.add_argument("--out", required=True, type=Path, help="where to write draft.json, tools.md (and bundle.json)")
    refine.add_argument("--only", action="append", metavar="TOOL", help="refine only this tool (repeatable)")
    add_draft_flags(refine)
    refine.set_defaults(handler="ann.cli.tools:run_refine")
