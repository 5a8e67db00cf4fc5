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
    with pytest.raises(AttributeError, match="Nope"):
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


@pytest.mark.parametrize("package", ["ann.datasets", "ann.tools"])
def test_every_name_of_a_lazy_package_resolves_to_its_definition(package):
    module = __import__(package, fromlist=["__all__"])
    for name in module.__all__:
        value = getattr(module, name)
        assert getattr(value, "__name__", name) == name, f"{package}.{name} is {value!r}"
    assert set(module.__all__) <= set(dir(module))


def test_a_graph_build_loads_neither_the_sandbox_nor_the_draft_records():
    # ann.datasets and ann.tools import a name's module on first use: `ann show` and every graph
    # build pay for one metric, not for the sandbox, the loaders or DRAFT's pydantic records.
    loaded = run(
        "import sys\n"
        "from ann import graph_from_spec, load_spec\n"
        "graph_from_spec(load_spec('examples/orders/spec.yaml'))\n"
        "heavy = ('ann.datasets.sandbox', 'ann.datasets.loaders', 'ann.tools.exploration', 'dspy', 'litellm')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))"
    )
    assert loaded == ""
