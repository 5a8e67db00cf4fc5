"""The `ann` command: parse flags, dispatch, and turn errors into one line and an exit code.

Exit codes: 0 success, 1 a model or run failure, 2 bad input (spec, dataset, flags).

Only the chosen command's module is imported (see ``ann.cli.flags``): a command that reads a
spec starts without the engine's, the optimizers' or a model library's imports.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from importlib import import_module

from rich.console import Console
from rich.markup import escape

from ann.cli.flags import parser
from ann.errors import AnnError, ConfigError
from ann.redact import redact

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(stderr=False, emoji=False)  # ":100:" in a path or a reply stays text
    errors = Console(stderr=True, emoji=False)
    if args.unsafe_code:
        _permit_unsafe_code(errors)
    try:
        module, function = args.handler.split(":")  # e.g. "ann.cli.show:run_show"
        return int(getattr(import_module(module), function)(args, console))
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
    from ann.datasets.isolation import UNSAFE_CODE_WARNING, permit_unsafe_code

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
