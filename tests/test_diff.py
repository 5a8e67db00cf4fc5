"""ann.diff: param text diffs, structure, demos and scores between two bundles (or a spec and a bundle)."""

import json
from pathlib import Path

import pytest

from ann import ConfigError, graph_from_spec, load_spec
from ann.bundle import Scores, make_bundle, save_bundle
from ann.diff import bundle_of_source, diff_bundles, diff_text
from ann.spec import AgentSpec

ROOT = Path(__file__).resolve().parents[1]
TICKETS = ROOT / "examples" / "tickets" / "spec.yaml"
ARITHMETIC = ROOT / "examples" / "arithmetic" / "spec.yaml"
DEMOS = "route.router.demos"


def trained_tickets(tmp_path: Path) -> Path:
    """The tickets spec with new instructions, one demo and scores, saved as a bundle."""
    spec = load_spec(TICKETS)
    graph = graph_from_spec(spec)
    router = graph.layers["route"].agents[0]
    router.instructions.value = "Read the ticket.\nAnswer billing for payments."
    router.demos.value = json.dumps([{"ticket": "charged twice", "category": "billing"}])
    path = tmp_path / "bundle.json"
    save_bundle(make_bundle(graph, spec=spec, scores=Scores(baseline=0.25, best=0.75)), path)
    return path


def test_a_spec_against_its_trained_bundle_shows_the_param_diff_demos_and_scores(tmp_path):
    diff = diff_bundles(bundle_of_source(TICKETS), bundle_of_source(trained_tickets(tmp_path)))
    assert diff.structure == []
    [change] = diff.params
    assert (change.name, change.change, change.kind) == ("route.router.instructions", "changed", "instructions")
    assert "-Read the ticket and say what it is about." in change.diff
    assert "+Answer billing for payments." in change.diff
    [demos] = diff.demos
    assert demos.name == "route.router.demos" and demos.added == [{"ticket": "charged twice", "category": "billing"}]
    assert demos.removed == []
    assert diff.scores.before["best"] is None and diff.scores.after["best"] == 0.75 and diff.scores.delta is None
    text = "\n".join(diff_text(diff))
    assert "param route.router.instructions (instructions) changed" in text
    assert "demos route.router.demos: 1 added, 0 removed" in text
    assert "best — → 0.750" in text


def test_the_same_file_twice_has_no_differences():
    diff = diff_bundles(bundle_of_source(TICKETS), bundle_of_source(TICKETS))
    assert diff.same and diff_text(diff) == ["no differences between A and B"]


def test_structure_changes_name_layers_team_types_agents_and_tools():
    a = bundle_of_source(ARITHMETIC)
    spec = a.spec.model_copy(deep=True)
    solve = next(layer for layer in spec.graph.layers if layer.name == "solve")
    solve.aggregator = "single"
    solve.agents.append(AgentSpec(name="helper", tools=["calc"]))
    spec.graph.layers[0].agents[0].tools = ["lookup"]
    b = a.model_copy(update={"spec": spec, "params": {}})
    lines = [change.line() for change in diff_bundles(a, b).structure]
    assert "layer 'solve' team type: vote → single" in lines
    assert "layer 'solve' agent 'helper' added" in lines
    first = spec.graph.layers[0]
    assert f"layer {first.name!r} agent {first.agents[0].name!r} tool 'lookup' added" in lines
    assert all(c.change == "removed" for c in diff_bundles(a, b).params)  # no params on B's side


def test_a_changed_demo_is_one_removed_and_one_added_and_key_order_does_not_count(tmp_path):
    a = bundle_of_source(trained_tickets(tmp_path))
    params = dict(a.params)
    demos = params[DEMOS]
    same = demos.model_copy(update={"value": json.dumps([{"category": "billing", "ticket": "charged twice"}])})
    assert diff_bundles(a, a.model_copy(update={"params": {**params, DEMOS: same}})).demos == []
    other = demos.model_copy(update={"value": json.dumps([{"ticket": "lost parcel", "category": "shipping"}])})
    [change] = diff_bundles(a, a.model_copy(update={"params": {**params, DEMOS: other}})).demos
    assert change.added == [{"ticket": "lost parcel", "category": "shipping"}]
    assert change.removed == [{"ticket": "charged twice", "category": "billing"}]


def test_a_spec_without_a_graph_is_one_clear_error(tmp_path):
    (tmp_path / "s.yaml").write_text("name: x\ninputs: [q]\noutputs: [a]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no graph"):
        bundle_of_source(tmp_path / "s.yaml")
