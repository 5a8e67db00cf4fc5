"""Structural learning: typed edits on a copy, bounds, and validation-gated keep/revert."""

import json

import pytest
from scripts import examples

from ann import Agent, Graph, GraphError, Layer
from ann.datasets import make_metric
from ann.optimizers import ANNOptimizer
from ann.optimizers.structure import (
    AddAgent,
    DeleteLayer,
    InsertLayer,
    RemoveAgent,
    SwapAggregator,
    apply_edit,
    calls_per_example,
    parse_edit,
)


def team_graph(client=None):
    team = [Agent("bad1", role="bad one"), Agent("bad2", role="bad two"), Agent("good", role="good one")]
    return Graph([Layer("final", team, "vote", inputs=["question"], outputs=["answer"])], inputs=["question"],
                 outputs=["answer"], description="Answer 'right'.", lm=client)  # fmt: skip


def test_edits_apply_to_a_copy_and_keep_surviving_params():
    graph = team_graph()
    graph.layers["final"].agents[2].instructions.value = "Trained text."
    swapped = apply_edit(graph, SwapAggregator(layer="final", aggregator="judge"), max_agents=4, max_calls=10)
    assert swapped.layers["final"].aggregator.value == "judge" and graph.layers["final"].aggregator.value == "vote"
    assert swapped.layers["final"].agents[2].instructions.value == "Trained text."
    added = apply_edit(graph, AddAgent(layer="final", name="extra", role="a checker"), max_agents=4, max_calls=10)
    assert [a.name for a in added.layers["final"].agents] == ["bad1", "bad2", "good", "extra"]
    removed = apply_edit(graph, RemoveAgent(layer="final", agent="bad1"), max_agents=4, max_calls=10)
    assert [a.name for a in removed.layers["final"].agents] == ["bad2", "good"]
    assert calls_per_example(graph) == 3 and calls_per_example(swapped) == 4


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (SwapAggregator(layer="nope", aggregator="judge"), "edit names no layer 'nope'"),
        (SwapAggregator(layer="final", aggregator="vote"), "already uses 'vote'"),
        (SwapAggregator(layer="final", aggregator="critique"), "does not take 3 agents"),
        (AddAgent(layer="final", name="x", role="r"), "already has 3 agents \\(max 3\\)"),
        (RemoveAgent(layer="final", agent="ghost"), "has no agent 'ghost'"),
        (SwapAggregator(layer="final", aggregator="debate"), "costs 6 calls per example \\(max 5\\)"),
    ],
)
def test_bad_or_oversized_edits_are_rejected(edit, message):
    with pytest.raises(GraphError, match=message):
        apply_edit(team_graph(), edit, max_agents=3, max_calls=5)


def test_parse_edit():
    edit = parse_edit(json.dumps({"edit": {"op": "remove_agent", "layer": "final", "agent": "bad1", "reason": "r"}}))
    assert edit == RemoveAgent(layer="final", agent="bad1", reason="r")
    with pytest.raises(Exception, match="not a valid edit"):
        parse_edit(json.dumps({"edit": {"op": "insert_layer", "layer": "x"}}))


def script(edit: dict):
    def reply(messages):
        system = messages[0]["content"]
        if system.startswith("You are bad"):
            return "wrong"
        if system.startswith("You are good"):
            return "right"
        if "strict judge" in system:
            return "3"
        if "merges answers" in system:
            return "wrong"
        if "expert prompt engineer" in system:
            return json.dumps({"new_text": ""})  # always rejected: the test is about structure
        if "improve the structure" in system:
            return json.dumps({"edit": edit})
        if "demanding reviewer" in system:
            return json.dumps({"critique": "The answer should be 'right'."})
        if "debugs teams" in system:
            keys = [line.split('"')[1] for line in system.splitlines() if line.startswith('- "')]
            return json.dumps({key: "nothing" for key in keys})
        raise AssertionError(system[:80])

    return reply


def test_a_structural_edit_that_raises_validation_is_kept(scripted):
    graph = team_graph(scripted(script({"op": "swap_aggregator", "layer": "final", "aggregator": "judge"})))
    optimizer = ANNOptimizer(epochs=1, batch_size=2, structure=True)
    optimizer.compile(graph, trainset=examples(2), valset=examples(5, "v"), metric=make_metric("exact_match"))
    run = optimizer.last_run
    edit = next(r for r in run.history if r.note.startswith("structure:"))
    assert edit.note == "structure: layer 'final': aggregator -> judge" and edit.accepted
    assert run.baseline_score == 0.0 and run.best_score == 1.0
    assert graph.layers["final"].aggregator.value == "judge"
    assert "final.judge.judge.instructions" in dict(graph.named_parameters())


def test_a_structural_edit_that_does_not_raise_validation_is_reverted(scripted):
    graph = team_graph(scripted(script({"op": "swap_aggregator", "layer": "final", "aggregator": "synthesize"})))
    optimizer = ANNOptimizer(epochs=1, batch_size=2, structure=True)
    optimizer.compile(graph, trainset=examples(2), valset=examples(5, "v"), metric=make_metric("exact_match"))
    edit = next(r for r in optimizer.last_run.history if r.note.startswith("structure:"))
    assert not edit.accepted and edit.val_score == 0.0
    assert graph.layers["final"].aggregator.value == "vote"


def test_a_kept_structural_edit_survives_kill_and_resume(scripted, tmp_path):
    def run(stop_after=None, resume=False):
        graph = team_graph(scripted(script({"op": "swap_aggregator", "layer": "final", "aggregator": "judge"})))
        seen = []

        def on_event(kind, info):
            if kind == "step":
                seen.append(1)
                if stop_after is not None and len(seen) == stop_after:
                    raise KeyboardInterrupt

        optimizer = ANNOptimizer(epochs=2, batch_size=1, patience=9, structure=True,
                                 checkpoint=tmp_path / "ck.json", on_event=on_event)  # fmt: skip
        optimizer.compile(graph, trainset=examples(2), valset=examples(5, "v"), metric=make_metric("exact_match"),
                          resume=resume)  # fmt: skip
        return graph, optimizer.last_run

    with pytest.raises(KeyboardInterrupt):
        run(stop_after=2)
    graph, resumed = run(resume=True)
    assert graph.layers["final"].aggregator.value == "judge" and resumed.best_score == 1.0
    assert [r.note for r in resumed.history][1] == "structure: layer 'final': aggregator -> judge"


def chain():
    layers = [
        Layer("plan", [Agent("p")], inputs=["question"], outputs=["plan"]),
        Layer("solve", [Agent("s")], inputs=["question", "plan"], outputs=["answer"]),
    ]
    return Graph(layers, inputs=["question"], outputs=["answer"])


def test_insert_a_refinement_layer_and_delete_it_again():
    graph = chain()
    graph.layers["solve"].agents[0].instructions.value = "Trained."
    inserted = apply_edit(graph, InsertLayer(layer="solve", name="check", role="a checker"), max_agents=4, max_calls=9)
    assert inserted.order == ["plan", "solve", "check"]
    assert inserted.layers["solve"].outputs == ["answer_draft"]
    assert inserted.layers["check"].inputs == ["question", "plan", "answer_draft"]
    assert inserted.layers["check"].outputs == ["answer"]
    assert inserted.layers["solve"].agents[0].instructions.value == "Trained."
    deleted = apply_edit(inserted, DeleteLayer(layer="check"), max_agents=4, max_calls=9)
    assert deleted.order == ["plan", "solve"] and deleted.layers["solve"].outputs == ["answer"]


def test_delete_needs_a_layer_made_input_to_take_over():
    with pytest.raises(GraphError, match="layer 'plan' cannot be deleted"):
        apply_edit(chain(), DeleteLayer(layer="plan"), max_agents=4, max_calls=9)
    graph = apply_edit(chain(), DeleteLayer(layer="solve"), max_agents=4, max_calls=9)
    assert graph.order == ["plan"] and graph.layers["plan"].outputs == ["answer"]
