"""Provenance (issue 12): each kept value records its step, gradient and validation evidence, and a
bundle carries a content hash that `ann show --verify` checks."""

import json
from pathlib import Path

import pytest

from ann import ConfigError, Example, graph_from_spec, load_spec
from ann.bundle import content_digest, load_bundle, make_bundle, restore_params, save_bundle, verify_bundle
from ann.cli import main
from ann.datasets import make_metric
from ann.optimizers import ANNOptimizer
from ann.testing.scripted_lm import scripted_client
from tests.test_bundle import _tickets_reply

ROOT = Path(__file__).resolve().parents[1]
TICKETS = ROOT / "examples" / "tickets" / "spec.yaml"
PARAM = "route.router.instructions"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> str:
    """The text of the tickets graph's bundle after one kept step (validation 0.0 → 1.0); trained once."""
    client = scripted_client(_tickets_reply)
    spec = load_spec(TICKETS)
    graph = graph_from_spec(spec, lm=client)
    tickets = [Example(inputs={"ticket": f"I was charged twice ({i})."}, expected={"category": "billing"}, id=f"t{i}")
               for i in range(7)]  # fmt: skip
    ANNOptimizer(lm=client, epochs=1, batch_size=2).compile(
        graph, trainset=tickets[:2], valset=tickets[2:], metric=make_metric("exact_match", field="category")
    )
    path = tmp_path_factory.mktemp("trained") / "bundle.json"
    save_bundle(make_bundle(graph, spec=spec), path)
    return path.read_text(encoding="utf-8")


@pytest.fixture
def bundle_path(trained, tmp_path) -> Path:
    """A fresh copy of the trained bundle for a test to read or edit."""
    path = tmp_path / "bundle.json"
    path.write_text(trained, encoding="utf-8")
    return path


def test_a_kept_value_records_its_step_gradient_and_validation_evidence(bundle_path):
    bundle = load_bundle(bundle_path)
    start, kept = bundle.params[PARAM].history
    assert start.step is None and start.gradient is None and start.evidence is None
    assert "BILLING-RULE" in kept.value and kept.step == 1 and kept.score == 1.0
    assert kept.gradient == "- Name the billing team for payment problems."  # the debugger's feedback
    evidence = kept.evidence
    assert (evidence.val_before, evidence.val_after) == (0.0, 1.0)
    assert (evidence.wins, evidence.losses, evidence.ties) == (5, 0, 0) and evidence.p_value < 0.05
    assert evidence.reason


def test_provenance_survives_load_and_save_again(bundle_path, tmp_path):
    first = load_bundle(bundle_path)
    graph = graph_from_spec(first.spec)
    restore_params(graph, first)
    save_bundle(make_bundle(graph, spec=first.spec), tmp_path / "again.json")
    assert load_bundle(tmp_path / "again.json").params == first.params


def test_a_saved_bundle_carries_the_hash_of_everything_else(bundle_path):
    path = bundle_path
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["sha256"] == content_digest(data) == verify_bundle(path)
    # Layout does not count, content does: re-indented, the file still verifies.
    path.write_text(json.dumps(data, indent=None, sort_keys=True), encoding="utf-8")
    assert verify_bundle(path) == data["sha256"]


EDITS = {
    "a param's text": lambda d: d["params"][PARAM].update(value="Edited by hand."),
    "a history entry's score": lambda d: d["params"][PARAM]["history"][-1].update(score=0.5),
    "the evidence": lambda d: d["params"][PARAM]["history"][-1]["evidence"].update(wins=9),
    "a spec field": lambda d: d["spec"].update(description="another task"),
    "the scores": lambda d: d["scores"].update(best=0.99),
    "the hash itself": lambda d: d.update(sha256="0" * 64),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_any_edit_fails_verification_in_one_line_naming_the_field(bundle_path, edit):
    path = bundle_path
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    load_bundle(path)  # still a valid bundle: only --verify notices
    with pytest.raises(ConfigError, match=r"sha256: the content does not match the recorded hash") as error:
        verify_bundle(path)
    assert "\n" not in str(error.value)


def test_a_bundle_without_a_hash_says_so(bundle_path):
    path = bundle_path
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["sha256"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match="sha256: the bundle records no content hash"):
        verify_bundle(path)


def test_show_verify_prints_one_line_and_exits_2_on_a_mismatch(capsys, bundle_path):
    path = bundle_path
    assert main(["show", "--verify", str(path)]) == 0
    assert "content matches" in capsys.readouterr().out
    path.write_text(path.read_text(encoding="utf-8").replace("BILLING-RULE", "billing rule"), encoding="utf-8")
    assert main(["show", "--verify", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "sha256: the content does not match" in captured.err
    assert main(["show", "--verify", str(TICKETS)]) == 2  # a spec has no hash to check
