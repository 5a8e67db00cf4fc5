"""The `ann` command: parse flags, dispatch, and turn errors into one line and an exit code.

Exit codes: 0 success, 1 a model or run failure, 2 bad input (spec, dataset, flags).
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings

from rich.console import Console
from rich.markup import escape

from ann.cli import compile as compile_command
from ann.cli import diff as diff_command
from ann.cli import eval as eval_command
from ann.cli import export as export_command
from ann.cli import plan as plan_command
from ann.cli import run as run_command
from ann.cli import schema as schema_command
from ann.cli import show as show_command
from ann.cli import tools as tools_command
from ann.cli.common import model_flags
from ann.datasets.isolation import UNSAFE_CODE_WARNING, permit_unsafe_code
from ann.errors import AnnError, ConfigError
from ann.redact import redact

__all__ = ["main"]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="ann", description="Build, run and train Agentic Neural Networks (multi-agent LLM graphs)."
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parents = [model_flags()]
    run_command.add_parser(commands, parents)
    eval_command.add_parser(commands, parents)
    compile_command.add_parser(commands, parents)
    show_command.add_parser(commands, parents)
    diff_command.add_parser(commands, parents)
    schema_command.add_parser(commands, parents)
    export_command.add_parser(commands, parents)
    plan_command.add_parser(commands, parents)
    tools_command.add_parser(commands, parents)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(stderr=False, emoji=False)  # ":100:" in a path or a reply stays text
    errors = Console(stderr=True, emoji=False)
    if args.unsafe_code:
        _permit_unsafe_code(errors)
    try:
        return int(args.handler(args, console))
    except ConfigError as exc:
        return _fail(errors, args, exc, 2)
    except AnnError as exc:
        return _fail(errors, args, exc, 1)
    except KeyboardInterrupt:
        errors.print("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 — a bug of ours still gets one line, and -v shows where
        return _fail(errors, args, RuntimeError(f"internal error ({type(exc).__name__}: {exc}); -v shows where"), 1)


def _permit_unsafe_code(errors: Console) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        permit_unsafe_code()
    errors.print(f"[yellow]warning:[/yellow] {escape(UNSAFE_CODE_WARNING)}", highlight=False, soft_wrap=True)


def _fail(console: Console, args: argparse.Namespace, exc: BaseException, code: int) -> int:
    # A traceback quotes every exception it passed through, a provider's among them, which may hold
    # the key it was sent; so it is plain text (never wrapped, which would split a key) and redacted.
    if args.verbose:
        console.file.write(redact("".join(traceback.format_exception(*sys.exc_info()))))
    # One line, always: a message may quote text from a model, a server or a user's file.
    message = " ".join(line.strip() for line in redact(str(exc)).splitlines() if line.strip())
    console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
