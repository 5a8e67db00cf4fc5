"""`ann diff A B`: what changed between two bundles, or between a spec and a bundle trained from it.

Like `ann show`, it calls no model and imports no tools module.
"""

from __future__ import annotations

import argparse
import json

from rich.console import Console


def run_diff(args: argparse.Namespace, console: Console) -> int:
    from ann.diff import bundle_of_source, diff_bundles, diff_text

    diff = diff_bundles(bundle_of_source(args.a), bundle_of_source(args.b), names=(args.a, args.b))
    if args.json:
        console.print_json(json.dumps(diff.to_json()))
        return 0
    for line in diff_text(diff):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    return 0
