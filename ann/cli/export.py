"""`ann export BUNDLE --format F [--out PATH]`: a bundle as prompts, Markdown, a diagram or a Python file.

It imports nothing from the bundle: a Python tools module is parsed for its functions' names and
docstrings, never run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ann.bundle import load_bundle
from ann.cli.common import check_output
from ann.errors import ConfigError
from ann.io import atomic_write_text


def run_export(args: argparse.Namespace, console: Console) -> int:
    if Path(args.spec).suffix != ".json":
        raise ConfigError(f"{args.spec}: export reads a bundle (.json written by `ann compile`), not a spec")
    check_output(args.out, "--out")
    path = Path(args.spec)
    bundle = load_bundle(path)
    from ann.export import export_bundle  # the adapter behind `prompts` imports DSPy: only when exporting

    text = export_bundle(bundle, args.format, source=path)
    if args.out is not None:
        atomic_write_text(args.out, text)
        console.print(f"wrote {args.format} export to {args.out}", highlight=False, soft_wrap=True)
    else:
        console.file.write(text)
    return 0
