from pathlib import Path

import pytest

from ann import ConfigError, graph_from_spec, load_spec

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
name: t
inputs: [question]
outputs: [answer]
metric: exact_match
graph:
  layers:
    - name: solve
      inputs: [question]
      outputs: [answer]
      aggregator: vote
      agents: [{name: a}, {name: b}]
"""


def write(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def test_examples_load_and_build():
    for spec_path in sorted((ROOT / "examples").glob("*/spec.yaml")):
        spec = load_spec(spec_path)
        graph = graph_from_spec(spec, source=spec_path)
        assert graph.outputs == spec.outputs


def test_good_spec(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    assert spec.metric.name == "exact_match"
    assert graph_from_spec(spec).layers["solve"].aggregator.value == "vote"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("aggregator: vote", "aggregator: votee"), "spec.yaml: layer 'solve': unknown aggregator 'votee'"),
        (
            GOOD.replace("agents: [{name: a}, {name: b}]", "agents: []"),
            "spec.yaml: graph.layers.0.agents: List should have at least 1 item",
        ),
        (GOOD.replace("name: t", "nmae: t"), "spec.yaml: name: Field required"),
        (
            GOOD.replace("inputs: [question]\n      outputs", "inputs: [plan]\n      outputs"),
            "layer 'solve': input 'plan' is not a graph input",
        ),
        (GOOD + "  extra: 1\n", "spec.yaml: graph.extra: Extra inputs are not permitted"),
        ("name: [unclosed\n", "spec.yaml:2: invalid YAML"),
        ("- a list\n", "spec.yaml: a spec must be a mapping"),
    ],
)
def test_bad_specs_give_one_line_naming_file_and_field(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        graph_from_spec(load_spec(write(tmp_path, text)), source=tmp_path / "spec.yaml")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_spec_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: cannot read spec"):
        load_spec(tmp_path / "nope.yaml")


def test_the_readme_team_type_examples_build():
    import re

    import yaml

    readme = (ROOT / "README.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "aggregator: debate" in b)
    for layer in yaml.safe_load(block):
        spec = {"name": "t", "inputs": layer["inputs"], "outputs": layer["outputs"], "graph": {"layers": [layer]}}
        from ann.spec import Spec

        graph = graph_from_spec(Spec.model_validate(spec))
        assert graph.layers[layer["name"]].aggregator.value == layer["aggregator"]
