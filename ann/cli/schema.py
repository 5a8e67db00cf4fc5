"""`ann schema spec|bundle`: print the JSON Schema of spec or bundle files (as published under schema/)."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console


def add_parser(commands: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("schema", parents=parents, help="print the JSON Schema of spec or bundle files")
    parser.add_argument("kind", choices=["spec", "bundle"], help="which file format")
    parser.set_defaults(handler=run_schema)


def run_schema(args: argparse.Namespace, console: Console) -> int:
    from ann.schemas import schema_text

    # Written as is: a schema is JSON for tools, and rich would wrap or colour it.
    (console.file or sys.stdout).write(schema_text(args.kind))
    return 0
