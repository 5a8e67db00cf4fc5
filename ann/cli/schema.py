"""`ann schema spec|bundle`: print the JSON Schema of spec or bundle files (as published under schema/)."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console


def run_schema(args: argparse.Namespace, console: Console) -> int:
    from ann.schemas import schema_text

    # Written as is: a schema is JSON for tools, and rich would wrap or colour it.
    (console.file or sys.stdout).write(schema_text(args.kind))
    return 0
