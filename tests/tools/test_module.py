"""Tools from a Python file: which functions become tools, and the one-line errors for bad files."""

from pathlib import Path

import pytest

from ann import load_spec
from ann.build import graph_from_spec
from ann.errors import ConfigError
from ann.tools import load_tools

MODULE = '''\
"""Sample tools."""
from math import floor  # imported: not a tool


def to_metres(value: float, unit: str) -> float:
    """Convert a length."""
    return {"m": 1.0, "ft": 0.3048}[unit] * value


def shout(text: str) -> str:
    return text.upper()


def _helper() -> None:
    pass
'''
SPEC = """\
name: sample
inputs: [question]
outputs: [answer]
tools: {tools}
graph:
  layers:
    - name: solve
      inputs: [question]
      outputs: [answer]
      aggregator: vote
      agents:
        - {{name: a, tools: [to_metres]}}
        - {{name: b, tools: [{b_tool}]}}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_public_functions_defined_in_the_module_become_tools(tmp_path):
    tools = load_tools(write(tmp_path, "tools.py", MODULE))
    assert sorted(tools) == ["shout", "to_metres"]
    assert tools["to_metres"].doc.value == "Convert a length."
    assert list(tools["to_metres"].spec.args) == ["value", "unit"]


def test_all_limits_the_tools_when_the_module_defines_it(tmp_path):
    tools = load_tools(write(tmp_path, "tools.py", MODULE + '\n__all__ = ["shout"]\n'))
    assert list(tools) == ["shout"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "tools module not found"),
        ("raise RuntimeError('boom')\n", "cannot import tools module (RuntimeError: boom)"),
        ("X = 1\n", "defines no public functions"),
    ],
)
def test_a_bad_tools_file_is_one_line_naming_it(tmp_path, text, message):
    path = tmp_path / "tools.py"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^.*tools\.py: ") as error:
        load_tools(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_spec_gives_agents_their_tools_sharing_one_doc_param(tmp_path):
    write(tmp_path, "tools.py", MODULE)
    spec = load_spec(write(tmp_path, "spec.yaml", SPEC.format(tools="tools.py", b_tool="to_metres")))
    assert spec.tools == str((tmp_path / "tools.py").resolve())
    graph = graph_from_spec(spec)
    a, b = graph.layers["solve"].agents
    assert a.tools[0] is b.tools[0]
    assert [name for name, _ in graph.named_parameters() if "tools" in name] == [
        "solve.a.tools.to_metres.doc",
        "solve.a.tools.to_metres.args.value",
        "solve.a.tools.to_metres.args.unit",
    ]
    assert [tool.name for tool in graph.tools()] == ["to_metres"]


def test_an_unknown_tool_name_is_reported_with_its_field(tmp_path):
    write(tmp_path, "tools.py", MODULE)
    spec = load_spec(write(tmp_path, "spec.yaml", SPEC.format(tools="tools.py", b_tool="teleport")))
    with pytest.raises(ConfigError, match=r"graph\.layers\.0\.agents\.1\.tools: unknown tool 'teleport'"):
        graph_from_spec(spec, source="spec.yaml")


def test_agent_tools_without_a_tools_module_are_a_spec_error(tmp_path):
    text = SPEC.format(tools="tools.py", b_tool="shout").replace("tools: tools.py\n", "")
    with pytest.raises(ConfigError, match=r"graph\.layers\.0\.agents\.0\.tools: names tools, but the spec has no"):
        load_spec(write(tmp_path, "spec.yaml", text))


def test_read_tools_gives_the_schemas_importing_gives_for_simple_annotations(tmp_path: Path) -> None:
    from ann.tools.module import read_tools

    path = tmp_path / "typed.py"
    path.write_text(
        "def ship(weight: int, zone: str, express: bool = False, *, rate: float = 1.5, note=None, tags: list = []):\n"
        '    """Price a parcel."""\n',
        encoding="utf-8",
    )
    read = read_tools(path)["ship"].schema()["properties"]
    imported = load_tools(path)["ship"].schema()["properties"]
    assert {a: read[a] for a in ("weight", "zone", "express", "rate")} == {
        a: imported[a] for a in ("weight", "zone", "express", "rate")
    }
    assert read["note"] == {} and read["tags"] == {}  # not guessed
