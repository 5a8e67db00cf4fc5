import json
from pathlib import Path

from ann.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_show_prints_the_tree(capsys):
    assert main(["show", str(ROOT / "examples/arithmetic/spec.yaml")]) == 0
    out = capsys.readouterr().out
    assert "solve vote" in out and "agent checker: a careful checker" in out
    assert out.index("extract single") < out.index("solve vote")


def test_show_json_and_bundles(capsys, tmp_path):
    import ann

    graph = ann.graph_from_spec(ann.load_spec(ROOT / "examples/tickets/spec.yaml"))
    graph.layers["route"].agents[0].instructions.value = "Route by topic."
    graph.save(tmp_path / "b.json")
    assert main(["show", str(tmp_path / "b.json"), "--json"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert spec["graph"]["layers"][0]["agents"][0]["instructions"] == "Route by topic."


def test_show_of_a_bad_file_is_one_line(capsys, tmp_path):
    (tmp_path / "x.json").write_text("{}")
    assert main(["show", str(tmp_path / "x.json")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_show_lists_each_agents_tools_with_their_docs(capsys):
    assert main(["show", str(ROOT / "examples/tools/spec.yaml")]) == 0
    out = capsys.readouterr().out
    assert "tool convert_length: Convert a length." in out and "tool loan_payment:" in out


MARKING_TOOLS = '''\
from pathlib import Path

Path(__file__).with_suffix(".imported").touch()  # so a test sees whether the module was imported


def reserve(item: str) -> str:
    """Reserve an item by name."""
    return item
'''


def test_show_imports_no_tools_module_even_an_untrusted_one(capsys, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "tools.py").write_text(MARKING_TOOLS, encoding="utf-8")
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "spec.yaml").write_text(
        "name: shop\ninputs: [q]\noutputs: [a]\ntools: ../elsewhere/tools.py\ngraph:\n  layers:\n"
        "    - {name: solve, inputs: [q], outputs: [a], agents: [{name: clerk, tools: [reserve]}]}\n",
        encoding="utf-8",
    )
    assert main(["show", str(tmp_path / "spec" / "spec.yaml")]) == 0
    assert "tool reserve: Reserve an item by name." in capsys.readouterr().out
    assert list(tmp_path.rglob("*.imported")) == []
