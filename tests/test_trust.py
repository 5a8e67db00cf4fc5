"""Loading is inert until trusted: a spec or bundle imports a tools file only from its own folder,
a bundle's only while it matches the recorded sha256, anything else only with --trust-tools."""

import hashlib
import json
from pathlib import Path

import pytest

from ann import Graph, graph_from_spec, load_spec
from ann.bundle import load_bundle, make_bundle, save_bundle
from ann.errors import TrustError
from ann.trust import check_tools, tools_refusal

# Importing this module leaves a file beside it, so a test sees whether ann imported it.
TOOLS = '''\
from pathlib import Path

Path(__file__).with_suffix(".imported").touch()


def reserve(item: str) -> str:
    """Reserve an item."""
    return f"reserved {item}"
'''
SPEC = """\
name: shop
inputs: [question]
outputs: [answer]
tools: {tools}
graph:
  layers:
    - {{name: solve, inputs: [question], outputs: [answer], agents: [{{name: clerk, tools: [reserve]}}]}}
"""


def imports(folder: Path) -> list[Path]:
    """The tools files under ``folder`` that were imported."""
    return sorted(path.with_suffix(".py") for path in folder.rglob("*.imported"))


def write_spec(folder: Path, tools: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "spec.yaml"
    path.write_text(SPEC.format(tools=tools), encoding="utf-8")
    return path


def saved_bundle(tmp_path: Path) -> Path:
    """A bundle written by ann, its tools file (from elsewhere) copied beside it."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "tools.py").write_text(TOOLS, encoding="utf-8")
    spec = load_spec(write_spec(tmp_path / "src", "tools.py"))
    save_bundle(make_bundle(graph_from_spec(spec), spec=spec), tmp_path / "run" / "bundle.json")
    (tmp_path / "src" / "tools.imported").unlink()
    return tmp_path / "run" / "bundle.json"


# specs: tools in the spec's own folder are trusted; anything reaching out is not


def test_a_spec_may_name_a_tools_file_in_its_folder_or_below(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "tools.py").write_text(TOOLS, encoding="utf-8")
    spec = write_spec(tmp_path, "lib/tools.py")
    check_tools(load_spec(spec).tools, spec)  # no error


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_a_spec_naming_a_tools_file_outside_its_folder_is_refused(tmp_path, how):
    outside = tmp_path / "elsewhere" / "tools.py"
    outside.parent.mkdir()
    outside.write_text(TOOLS, encoding="utf-8")
    if how == "symlink":
        (tmp_path / "spec").mkdir()
        (tmp_path / "spec" / "tools.py").symlink_to(outside)
    tools = {"absolute": str(outside), "dotdot": "../elsewhere/tools.py", "symlink": "tools.py"}[how]
    spec = write_spec(tmp_path / "spec", tools)
    with pytest.raises(TrustError, match=r"spec\.yaml: not importing tools file .*tools\.py: it lies outside the "
                       r"spec's folder .*; pass --trust-tools"):  # fmt: skip
        check_tools(load_spec(spec).tools, spec)
    assert "outside" in tools_refusal(tools, spec.parent, recorded=None, bundle=False)  # as written, unresolved
    check_tools(load_spec(spec).tools, spec, trust=True)  # the user's explicit word


# bundles: in the bundle's folder and unchanged since it was written


def test_save_bundle_copies_an_outside_tools_file_beside_the_bundle_and_records_its_sha256(tmp_path):
    path = saved_bundle(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["spec"]["tools"] == "bundle.tools.py"
    assert (tmp_path / "run" / "bundle.tools.py").read_text(encoding="utf-8") == TOOLS
    assert data["tools_sha256"] == hashlib.sha256(TOOLS.encode()).hexdigest()
    bundle = load_bundle(path)
    check_tools(bundle.spec.tools, path, recorded=bundle.tools_sha256, bundle=True)  # no error


def test_a_bundles_tools_file_that_changed_is_refused(tmp_path):
    path = saved_bundle(tmp_path)
    (tmp_path / "run" / "bundle.tools.py").write_text(TOOLS + "\nimport os\n", encoding="utf-8")
    bundle = load_bundle(path)
    with pytest.raises(TrustError, match=r"bundle\.json: not importing tools file .*bundle\.tools\.py: its sha256 "
                       r"differs from the one recorded in the bundle"):  # fmt: skip
        check_tools(bundle.spec.tools, path, recorded=bundle.tools_sha256, bundle=True)


def test_a_bundle_with_no_recorded_sha256_or_reaching_outside_its_folder_is_refused(tmp_path):
    path = saved_bundle(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, "tools_sha256": None}), encoding="utf-8")
    with pytest.raises(TrustError, match="the bundle records no sha256 for it"):
        Graph.load(path)
    digest = data["tools_sha256"]  # right hash, wrong place: a system file with a known hash is no better
    path.write_text(json.dumps({**data, "spec": {**data["spec"], "tools": "../src/tools.py"}}), encoding="utf-8")
    with pytest.raises(TrustError, match=r"it lies outside the bundle's folder"):
        Graph.load(path)
    assert digest and imports(tmp_path) == []
    assert Graph.load(path, trust_tools=True).tools()[0].name == "reserve"
    assert imports(tmp_path) == [tmp_path / "src" / "tools.py"]


def test_graph_load_imports_a_trusted_bundles_tools(tmp_path):
    path = saved_bundle(tmp_path)
    assert Graph.load(path).tools()[0].doc.value == "Reserve an item."
    assert imports(tmp_path) == [tmp_path / "run" / "bundle.tools.py"]
