"""The training loop: validation-gated accept/revert, budgets, patience, screening, resume."""

import json

import pytest
from scripts import examples, optimizer_script, three_layer_graph

from ann.datasets import make_metric
from ann.optimizers import ANNOptimizer

METRIC = make_metric("exact_match")


def rewriter(new_for_writer: str):
    """Rewrites the writer's instructions to ``new_for_writer``; every other param gets a harmless variant."""

    def rewrite(messages):
        user = messages[1]["content"]
        if "agent 'writer'" in user and "instructions" in user.split("Purpose:\n")[1].split("\n")[0]:
            return json.dumps({"new_text": new_for_writer})
        current = user.split("Current:\n")[1].split("\n\n")[0]
        return json.dumps({"new_text": f"{current} Be careful."[:60]})

    return rewrite


def compile_graph(scripted, new_for_writer, **options):
    client = scripted(optimizer_script(rewriter(new_for_writer)))
    graph = three_layer_graph(client)
    optimizer = ANNOptimizer(epochs=1, batch_size=2, **options)
    optimizer.compile(graph, trainset=examples(4), valset=examples(5, "v"), metric=METRIC)
    return graph, optimizer.last_run, client


def test_a_rewrite_that_raises_validation_is_kept(scripted):
    graph, run, _ = compile_graph(scripted, "Answer well. GOOD.")
    assert run.baseline_score == 0.0 and run.best_score == 1.0
    first = run.history[0]
    assert first.accepted and first.val_score == 1.0
    assert graph.layers["final"].agents[0].instructions.value == "Answer well. GOOD."
    change = next(c for c in first.changes if c["param"] == "final.writer.instructions")
    assert change["old"] == "Write." and change["gradient"] == "- feedback for agent_writer"
    entry = graph.layers["final"].agents[0].instructions.history[-1]
    assert (entry.value, entry.score, entry.step) == ("Answer well. GOOD.", 1.0, 1)
    # A perfect validation score cannot be beaten: training stops instead of spending more calls.
    assert len(run.history) == 1 and run.stopped == "validation reached 1.000, the most a metric gives"


def test_a_rewrite_that_does_not_raise_validation_is_reverted(scripted):
    graph, run, _ = compile_graph(scripted, "Answer badly.")
    assert all(not r.accepted for r in run.history) and run.best_score == 0.0
    assert run.history[0].val_score == 0.0 and run.history[0].changes
    assert graph.state_dict()["final.writer.instructions"] == "Write."
    assert graph.state_dict()["plan.planner.instructions"] == "Plan."


def test_patience_stops_early(scripted):
    client = scripted(optimizer_script(rewriter("Answer badly.")))
    graph = three_layer_graph(client)
    optimizer = ANNOptimizer(epochs=5, batch_size=1, patience=2)
    optimizer.compile(graph, trainset=examples(4), valset=examples(2, "v"), metric=METRIC)
    assert len(optimizer.last_run.history) == 2
    assert optimizer.last_run.stopped == "no validation gain in 2 steps (patience 2)"


@pytest.mark.parametrize("max_calls", [18, 25, 40])
def test_call_budget_stops_the_run_cleanly_with_the_best_so_far(scripted, max_calls):
    graph, run, client = compile_graph(scripted, "Answer badly.", max_calls=max_calls)
    assert run.stopped == f"call budget reached ({max_calls} of {max_calls} calls)"
    assert client.usage.calls == max_calls  # checked before every call, so never a call too many
    assert graph.state_dict()["final.writer.instructions"] == "Write."


def test_candidates_are_screened_on_training_examples_outside_the_minibatch(scripted):
    options = iter(["Try again.", "Answer well. GOOD.", "Try harder."])

    def rewrite(messages):
        user = messages[1]["content"]
        if "agent 'writer'" in user and "Purpose:\nthe instructions" in user:
            return json.dumps({"new_text": next(options)})
        return json.dumps({"new_text": "Be careful and precise."})

    client = scripted(optimizer_script(rewrite))
    graph = three_layer_graph(client)
    optimizer = ANNOptimizer(epochs=1, batch_size=2, candidates=3, seed=1)
    optimizer.compile(graph, trainset=examples(4), valset=examples(5, "v"), metric=METRIC)
    step = optimizer.last_run.history[0]
    # The current prompts first, then each candidate, all on the two training examples not in the minibatch.
    assert step.screened == [0.0, 0.0, 1.0, 0.0] and step.accepted
    assert graph.layers["final"].agents[0].instructions.value == "Answer well. GOOD."
    critiqued = {m["content"].split("question: ")[1].split("\n")[0] for r in client.dspy_lm.requests
                 for m in r["messages"][1:2] if "demanding reviewer" in r["messages"][0]["content"]}  # fmt: skip
    screened = (
        {
            r["messages"][-1]["content"]
            for r in client.dspy_lm.requests
            if r["messages"][0]["content"].endswith("Reply with the plan.")
        }
        - critiqued
        - {f"v{i}" for i in range(5)}
    )
    assert len(critiqued) == 2 and len(screened) == 2 and not critiqued & screened


def test_bad_settings_fail_at_construction():
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        ANNOptimizer(batch_size=0)
    with pytest.raises(ValueError, match="max_calls must be > 0"):
        ANNOptimizer(max_calls=0)


def test_a_budget_too_small_for_the_baseline_is_a_clear_error(scripted):
    from ann.errors import BudgetExceeded

    client = scripted(optimizer_script(rewriter("x")))
    with pytest.raises(BudgetExceeded, match="before the baseline validation finished"):
        ANNOptimizer(max_calls=2).compile(
            three_layer_graph(client), trainset=examples(2), valset=examples(5, "v"), metric=METRIC
        )
    assert client.usage.calls == 2
