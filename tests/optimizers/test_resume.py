"""Kill and resume: a run interrupted after any step and resumed ends with the identical bundle."""

import json

import pytest
from scripts import examples, optimizer_script, three_layer_graph

from ann import Example
from ann.bundle import Scores, make_bundle
from ann.datasets import make_metric
from ann.errors import ConfigError
from ann.optimizers import ANNOptimizer


def rewrite(messages):
    """Bad advice first; once the momentum memory shows a failed attempt, good advice."""
    user = messages[1]["content"]
    current = user.split("Current:\n")[1].split("\n\n")[0]
    if "Purpose:\nthe instructions of agent 'writer'" not in user:
        return json.dumps({"new_text": f"{current} Check twice."[:80]})
    if "Past attempts:\n(none yet)" in user:
        return json.dumps({"new_text": "Answer badly."})
    return json.dumps({"new_text": "Answer well. GOOD."})


def run(scripted, checkpoint, *, stop_after=None, resume=False):
    client = scripted(optimizer_script(rewrite))
    graph = three_layer_graph(client)
    seen = []

    def on_event(kind, info):
        if kind == "step":
            seen.append(info["record"].step)
            if stop_after is not None and len(seen) == stop_after:
                raise KeyboardInterrupt

    optimizer = ANNOptimizer(epochs=2, batch_size=2, patience=5, seed=3, checkpoint=checkpoint, on_event=on_event)
    # One validation example no prompt can solve, so validation never hits 1.0 and every step runs.
    valset = [*examples(5, "v"), Example({"question": "v-hard"}, {"answer": "unreachable"}, id="v-hard")]
    optimizer.compile(graph, trainset=examples(6), valset=valset, metric=make_metric("exact_match"),
                      resume=resume)  # fmt: skip
    result = optimizer.last_run
    bundle = make_bundle(graph, scores=Scores(baseline=result.baseline_score, best=result.best_score),
                         data=result.data, training={"steps": len(result.history)})  # fmt: skip
    history = [r.to_dict() for r in result.history]
    return bundle.model_dump_json(), history, client


def test_uninterrupted_run_learns_through_momentum(scripted, tmp_path):
    _, history, _ = run(scripted, tmp_path / "ck.json")
    assert [r["accepted"] for r in history[:2]] == [False, True]


@pytest.mark.parametrize("stop_after", [1, 2, 3])
def test_kill_and_resume_gives_the_identical_bundle(scripted, tmp_path, stop_after):
    reference, reference_history, reference_client = run(scripted, tmp_path / "a.json")
    with pytest.raises(KeyboardInterrupt):
        run(scripted, tmp_path / "b.json", stop_after=stop_after)
    saved = json.loads((tmp_path / "b.json").read_text())
    assert len(saved["history"]) == stop_after
    resumed, resumed_history, client = run(scripted, tmp_path / "b.json", resume=True)
    assert resumed == reference
    assert resumed_history == reference_history
    # The resumed run did not redo the baseline or the finished steps.
    assert client.usage.calls < reference_client.usage.calls


def test_resume_refuses_another_runs_checkpoint(scripted, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run(scripted, tmp_path / "c.json", stop_after=1)
    client = scripted(optimizer_script(rewrite))
    optimizer = ANNOptimizer(epochs=2, batch_size=3, checkpoint=tmp_path / "c.json")
    with pytest.raises(ConfigError, match="checkpoint was made with different batch_size"):
        optimizer.compile(three_layer_graph(client), trainset=examples(6), valset=examples(3, "v"),
                          metric=make_metric("exact_match"), resume=True)  # fmt: skip
    with pytest.raises(ConfigError, match="no checkpoint to resume from"):
        ANNOptimizer(checkpoint=tmp_path / "none.json").compile(
            three_layer_graph(client),
            trainset=examples(2),
            valset=examples(1),
            metric=make_metric("exact_match"),
            resume=True,
        )
