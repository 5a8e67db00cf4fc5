"""Commands that call no model start fast: they never import DSPy or LiteLLM (or numpy, networkx),
and building the parser imports only argparse-level code.

Times are measured by benchmarks/startup.py, not here; this pins the cause of a slow start.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("dspy", "litellm", "numpy", "networkx", "httpx")
SCRIPT = """\
import contextlib, io, sys
from ann.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
print(" ".join(m for m in {heavy!r} if m in sys.modules))
sys.exit(code)
"""


def heavy_imports(*argv: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(heavy=HEAVY), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "examples/orders/spec.yaml"],
        ["show", "examples/arithmetic/spec.yaml", "--json"],
        ["show", "examples/tools/spec.yaml"],  # Python tools: described from the parsed file, without dspy.Tool
        ["diff", "examples/tickets/spec.yaml", "examples/tickets/spec.yaml"],
        ["schema", "spec"],
        ["schema", "bundle"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_a_command_that_calls_no_model_imports_no_model_library(argv):
    assert heavy_imports(*argv) == []


def test_show_of_a_bundle_imports_no_model_library(tmp_path):
    from ann import graph_from_spec, load_spec

    graph_from_spec(load_spec(ROOT / "examples/tickets/spec.yaml")).save(tmp_path / "b.json")
    assert heavy_imports("show", str(tmp_path / "b.json")) == []


def test_an_export_imports_only_what_its_format_needs(tmp_path):
    from ann import graph_from_spec, load_spec

    graph_from_spec(load_spec(ROOT / "examples/tickets/spec.yaml")).save(tmp_path / "b.json")
    for fmt in ("mermaid", "markdown"):
        assert heavy_imports("export", str(tmp_path / "b.json"), "--format", fmt) == []


def test_building_the_parser_imports_no_command_and_no_model_library():
    code = (
        "import sys\n"
        "from ann.cli.flags import parser\n"
        "parser().parse_args(['compile', 'spec.yaml', '--train', 't', '--val', 'v', '--out', 'o'])\n"
        "import ann.cli\n"
        "print(' '.join(m for m in sys.modules if m.split('.')[0] in ('dspy', 'litellm', 'pydantic', 'yaml') "
        "or m.startswith(('ann.cli.', 'ann.graph', 'ann.spec', 'ann.lm', 'ann.optimizers')) and m != 'ann.cli.flags'))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []
