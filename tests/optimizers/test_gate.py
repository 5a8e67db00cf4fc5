"""The gate: paired per-example comparison with an exact sign test; noise is refused."""

import pytest

from ann.optimizers.gate import Gate, sign_test_p


def test_sign_test_matches_hand_computed_binomial_tails():
    assert sign_test_p(0, 0) == 1.0
    assert sign_test_p(1, 0) == 0.5
    assert sign_test_p(5, 0) == pytest.approx(1 / 32)
    assert sign_test_p(8, 1) == pytest.approx(10 / 512)  # C(9,8) + C(9,9) over 2^9
    assert sign_test_p(2, 3) == pytest.approx(26 / 32)


def test_a_one_example_gain_is_refused():
    incumbent = [1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0]
    candidate = [1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0]
    verdict = Gate().decide(incumbent, candidate)
    assert not verdict.kept and (verdict.wins, verdict.losses, verdict.ties) == (1, 0, 11)
    assert verdict.reason.startswith("gain not significant")


def test_a_gain_with_offsetting_losses_is_refused_even_when_the_mean_rises():
    incumbent = [0] * 6 + [1] * 6
    candidate = [1] * 6 + [0] * 4 + [1] * 2  # 6 wins, 4 losses: mean 0.5 -> 0.667
    verdict = Gate().decide(incumbent, candidate)
    assert not verdict.kept and verdict.p_value > 0.05


def test_a_significant_gain_is_kept():
    verdict = Gate().decide([0] * 9 + [1] * 3, [1] * 12)
    assert verdict.kept and verdict.wins == 9 and verdict.p_value == pytest.approx(1 / 512)
    assert verdict.reason.startswith("significant gain")


def test_ties_and_losses_are_no_gain():
    assert Gate().decide([1, 0, 1], [1, 0, 1]).reason == "no gain (0 better, 0 worse, 3 tied)"
    assert not Gate().decide([1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]).kept


def test_alpha_sets_how_sure_the_gate_must_be():
    incumbent, candidate = [0, 0, 0, 1], [1, 1, 1, 1]  # p = 1/8
    assert not Gate(alpha=0.05).decide(incumbent, candidate).kept
    assert Gate(alpha=0.2).decide(incumbent, candidate).kept


def test_continuous_scores_are_compared_per_example():
    verdict = Gate().decide([0.5] * 6, [0.6, 0.7, 0.55, 0.9, 0.8, 0.5 + 1e-12])
    assert (verdict.wins, verdict.ties) == (5, 1) and verdict.kept


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="alpha must be in"):
        Gate(alpha=0)
    with pytest.raises(ValueError, match="differ in length: 2 vs 3"):
        Gate().decide([0, 1], [0, 1, 1])


# --- the gate inside compile ---------------------------------------------------------------------

import json  # noqa: E402

from scripts import examples, optimizer_script  # noqa: E402

from ann import Agent, Example, Graph, Layer  # noqa: E402
from ann.datasets import make_metric  # noqa: E402
from ann.optimizers import ANNOptimizer  # noqa: E402


def graph_fixed_by(scripted, fixed: set[str]):
    """One agent: right on q0 always; with GOOD instructions also on the questions in ``fixed``."""

    def reply(messages):
        if messages[0]["content"].endswith("Reply with the answer."):
            question = messages[-1]["content"]
            good = "GOOD" in messages[0]["content"]
            return "right" if question == "q0" or (good and question in fixed) else "wrong"
        return optimizer_script(lambda m: json.dumps({"new_text": "Answer well. GOOD."}))(messages)

    layer = Layer("final", [Agent("writer", role="a writer")], inputs=["question"], outputs=["answer"])
    return Graph([layer], inputs=["question"], outputs=["answer"], lm=scripted(reply))


def compile_against(graph, valset, **options):
    optimizer = ANNOptimizer(epochs=1, batch_size=2, embedder=None, **options)
    optimizer.compile(graph, trainset=examples(4), valset=valset, metric=make_metric("exact_match"))
    return optimizer.last_run


def test_compile_refuses_a_rewrite_that_wins_one_validation_example(scripted):
    graph = graph_fixed_by(scripted, {"q1", "q2", "q3", "v1"})
    run = compile_against(graph, examples(12, "v"))
    step = run.history[0]
    assert step.val_score == 1 / 12 and not step.accepted  # the old `val > best` rule would have kept it
    assert step.verdict["reason"] == "gain not significant (1 better, 0 worse, 11 tied; p=0.500)"
    assert graph.layers["final"].agents[0].instructions.value == ""
    assert run.best_score == 0.0


def test_compile_keeps_a_rewrite_that_wins_many_validation_examples(scripted):
    graph = graph_fixed_by(scripted, {"q1", "q2", "q3", *(f"v{i}" for i in range(8))})
    run = compile_against(graph, examples(12, "v"))
    step = run.history[0]
    assert step.accepted and step.verdict["wins"] == 8 and step.verdict["p_value"] < 0.01
    assert graph.layers["final"].agents[0].instructions.value == "Answer well. GOOD."
    assert run.best_score == 8 / 12  # measured afresh at the end


def test_a_tiny_validation_set_gets_a_warning(scripted):
    warnings = []
    graph = graph_fixed_by(scripted, {"q1", "v0", "v1", "v2"})
    optimizer = ANNOptimizer(
        epochs=1,
        batch_size=2,
        embedder=None,
        on_event=lambda kind, info: warnings.append(info["text"]) if kind == "warning" else None,
    )
    optimizer.compile(graph, trainset=examples(4), valset=examples(3, "v"), metric=make_metric("exact_match"))
    assert warnings and "3 validation examples can never show a significant gain" in warnings[0]
    assert not any(record.accepted for record in optimizer.last_run.history)


def test_holdout_keeps_the_untrained_graph_when_training_did_worse_there(scripted):
    graph = graph_fixed_by(scripted, {"q1", "q2", "q3", "h1", *(f"v{i}" for i in range(8))})
    holdout = [
        Example({"question": "q0"}, {"answer": "right"}, id="h0"),
        Example({"question": "h1"}, {"answer": "wrong"}, id="h1"),
    ]  # right only while untrained
    optimizer = ANNOptimizer(epochs=1, batch_size=2, embedder=None)
    optimizer.compile(graph, trainset=examples(4), valset=examples(12, "v"), metric=make_metric("exact_match"),
                      holdout=holdout)  # fmt: skip
    run = optimizer.last_run
    assert run.history[0].accepted  # validation said yes ...
    assert run.holdout == {"untrained": 1.0, "trained": 0.5, "picked": "untrained", "n": 2}  # ... the holdout no
    assert graph.layers["final"].agents[0].instructions.value == ""
    assert run.best_score == 0.0 and "untrained one is kept" in run.stopped
