"""Demos bootstrapped from solved training runs: proposed, validated, kept only when they help."""

import json

from scripts import examples, optimizer_script

from ann import Agent, Example, Graph, Layer
from ann.datasets import make_metric
from ann.optimizers import ANNOptimizer
from ann.optimizers.demos import spread


def graph_learning_from_demos(scripted):
    """One agent that answers 'right' for q0, and for anything else only once it has a demo."""

    def reply(messages):
        if messages[0]["content"].endswith("Reply with the answer."):
            has_demo = any(m["role"] == "assistant" for m in messages)
            return "right" if messages[-1]["content"] == "q0" or has_demo else "wrong"
        return optimizer_script(lambda m: json.dumps({"new_text": "Answer badly."}))(messages)

    client = scripted(reply)
    layer = Layer("final", [Agent("writer", role="a writer")], inputs=["question"], outputs=["answer"])
    return Graph([layer], inputs=["question"], outputs=["answer"], lm=client), client


def test_demos_from_a_solved_run_are_kept_when_validation_rises(scripted):
    graph, client = graph_learning_from_demos(scripted)
    optimizer = ANNOptimizer(epochs=1, batch_size=2, demos=2)
    optimizer.compile(graph, trainset=examples(2), valset=examples(5, "v"), metric=make_metric("exact_match"))
    run = optimizer.last_run
    assert run.baseline_score == 0.0 and run.best_score == 1.0
    demo_step = next(r for r in run.history if r.note == "demos")
    assert demo_step.accepted and demo_step.changes[0]["param"] == "final.writer.demos"
    assert json.loads(graph.layers["final"].agents[0].demos.value) == [{"question": "q0", "answer": "right"}]
    # The demo is shown as a worked exchange before the input.
    last = client.dspy_lm.requests[-1]["messages"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "user"]


def test_without_demos_option_no_demo_is_tried(scripted):
    graph, _ = graph_learning_from_demos(scripted)
    optimizer = ANNOptimizer(epochs=1, batch_size=2)
    optimizer.compile(graph, trainset=examples(2), valset=examples(5, "v"), metric=make_metric("exact_match"))
    assert optimizer.last_run.best_score == 0.0
    assert graph.layers["final"].agents[0].demos.value == "[]"


def test_spread_covers_distinct_answers_before_repeating():
    import random

    pooled = [{"inputs": {"t": str(i)}, "outputs": {"label": "billing" if i < 5 else "shipping"}} for i in range(6)]
    chosen = spread(pooled, 2, random.Random(0))
    assert sorted(d["outputs"]["label"] for d in chosen) == ["billing", "shipping"]
    assert len(spread(pooled, 10, random.Random(0))) == 6


def test_a_later_proposal_in_the_same_batch_must_beat_the_step_just_kept(scripted):
    """The text step raises validation to 1.0; demos tried right after score 0.8 — better than the
    baseline but worse than the step just kept, so they must be reverted."""

    def reply(messages):
        system = messages[0]["content"]
        if system.endswith("Reply with the answer."):
            question = messages[-1]["content"]
            if question == "q0":
                return "right"
            if "GOOD" not in system:
                return "wrong"
            has_demo = any(m["role"] == "assistant" for m in messages)
            return "wrong" if has_demo and question == "v1" else "right"
        return optimizer_script(lambda m: json.dumps({"new_text": "Answer well. GOOD."}))(messages)

    layer = Layer("final", [Agent("writer", role="a writer")], inputs=["question"], outputs=["answer"])
    graph = Graph([layer], inputs=["question"], outputs=["answer"], lm=scripted(reply))
    optimizer = ANNOptimizer(epochs=1, batch_size=2, demos=1)
    optimizer.compile(graph, trainset=examples(2), valset=examples(5, "v"), metric=make_metric("exact_match"))
    text_step, demo_step = optimizer.last_run.history[:2]
    assert text_step.accepted and text_step.val_score == 1.0
    assert demo_step.note == "demos" and demo_step.val_score == 0.8 and not demo_step.accepted
    assert optimizer.last_run.best_score == 1.0 and graph.layers["final"].agents[0].demos.value == "[]"


def vote_graph(scripted):
    """Three voters: a and b answer 'right', c answers 'wrong'; the layer keeps 'right'."""

    def reply(messages):
        system = messages[0]["content"]
        if system.endswith("Reply with the answer."):
            return "wrong" if "a contrarian" in system else "right"
        return optimizer_script(lambda m: json.dumps({"new_text": "Answer."}))(messages)

    agents = [Agent("a", role="a writer"), Agent("b", role="a writer"), Agent("c", role="a contrarian")]
    layer = Layer("final", agents, "vote", inputs=["question"], outputs=["answer"])
    return Graph([layer], inputs=["question"], outputs=["answer"], lm=scripted(reply))


def test_bootstrapped_demos_come_only_from_the_answers_the_layer_chose(scripted):
    from ann.optimizers.demos import DemoPool
    from ann.optimizers.loss import LossItem

    graph = vote_graph(scripted)
    results = graph.batch(examples(2))
    pool = DemoPool()
    pool.add(LossItem(example, result, None) for example, result in zip(examples(2), results, strict=True))
    assert sorted(pool.demos) == ["final.a.demos", "final.b.demos"]  # never the losing voter c
    assert all(d["outputs"] == {"answer": "right"} for demos in pool.demos.values() for d in demos)


def test_labeled_demos_use_the_expected_values_and_ignore_arrival_order(scripted):
    from ann.optimizers.demos import DemoPool

    graph, _ = graph_learning_from_demos(scripted)
    train = [Example({"question": f"q{i}"}, {"answer": f"label{i % 2}"}, id=f"q{i}") for i in range(6)]
    first, second = DemoPool(), DemoPool()
    first.add_labeled(graph, train)
    second.add_labeled(graph, list(reversed(train)))
    params = dict(graph.named_parameters())
    proposal = first.propose(params, k=2, seed="0:1")
    assert proposal.changes[0].new == second.propose(params, k=2, seed="0:1").changes[0].new
    chosen = json.loads(proposal.changes[0].new)
    assert sorted(d["answer"] for d in chosen) == ["label0", "label1"]  # spread over distinct answers
    assert all(d["answer"] == f"label{int(d['question'][1:]) % 2}" for d in chosen)


def test_compile_with_labeled_demos_keeps_them_when_validation_rises(scripted):
    graph, _ = graph_learning_from_demos(scripted)
    optimizer = ANNOptimizer(epochs=1, batch_size=2, demos=2, demo_source="labeled", embedder=None)
    optimizer.compile(graph, trainset=examples(2), valset=examples(5, "v"), metric=make_metric("exact_match"))
    demo_step = next(r for r in optimizer.last_run.history if r.note == "demos")
    assert demo_step.accepted
    assert json.loads(graph.layers["final"].agents[0].demos.value)[0] in (
        {"question": "q0", "answer": "right"},
        {"question": "q1", "answer": "right"},
    )
