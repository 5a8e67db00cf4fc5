"""The public API (ann/__init__.py): every name resolves, and importing ann stays cheap."""

import subprocess
import sys
from pathlib import Path

import pytest

import ann

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ann.__all__)
def test_every_public_name_resolves(name):
    value = getattr(ann, name)
    assert value is not None
    if name != "__version__":
        assert value.__name__ == name  # the class or function itself, not a module of the same name


def test_from_ann_import_gives_the_same_objects_as_their_modules():
    from ann import Graph, connect, graph_from_spec, load_spec
    from ann.build import graph_from_spec as built
    from ann.connect import connect as connected
    from ann.graph import Graph as graph_class
    from ann.spec import load_spec as loaded

    assert (Graph, connect, graph_from_spec, load_spec) == (graph_class, connected, built, loaded)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        ann.Nope  # noqa: B018


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_connect_is_the_function_even_after_its_module_is_imported_first():
    # `ann.connect` is also a submodule: importing it must not shadow the function.
    code = "import ann.connect, ann; from ann import connect; print(type(connect).__name__)"
    assert run(code) == "function"


def test_importing_ann_loads_no_graph_machinery_and_no_model_library():
    loaded = run(
        "import sys, ann\n"
        "heavy = ('dspy', 'litellm', 'pydantic', 'networkx', 'ann.graph', 'ann.lm', 'ann.spec', 'ann.optimizers')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))"
    )
    assert loaded == ""
