"""`ann search` in-process against a loopback OpenAI-compatible server, with the default SQLite study."""

import json
from pathlib import Path

import optuna
import pytest

from ann.bundle import load_bundle
from ann.cli import main
from ann.testing import OpenAIServer
from tests.search.conftest import QUESTIONS, answer_at_temperature_zero, model_flags


def search(capsys, spec: Path, val: Path, out: Path, server: OpenAIServer, *flags: object) -> tuple[int, dict, str]:
    code = main(["search", str(spec), "--val", str(val), "--out", str(out), *model_flags(server.base_url), "--json",
                 *(str(flag) for flag in flags)])  # fmt: skip
    stdout, stderr = capsys.readouterr()
    return code, json.loads(stdout) if code == 0 else {}, stderr


def test_search_tries_every_combination_of_a_small_space_and_ships_the_best(capsys, task, tmp_path) -> None:
    spec, val = task
    with OpenAIServer(reply=answer_at_temperature_zero) as server:
        code, summary, err = search(capsys, spec, val, tmp_path / "out", server, "--trials", 4)
    assert code == 0, err
    tried = sorted((t["params"]["solve.temperature"], t["params"]["solve.samples"]) for t in summary["trials"])
    assert tried == [(0.0, 1), (0.0, 3), (1.0, 1), (1.0, 3)]  # a 4-point space and 4 trials: each once
    scores = {(t["params"]["solve.temperature"], t["params"]["solve.samples"]): t["score"] for t in summary["trials"]}
    # at temperature 0 one sample is right; three samples add two warm wrong answers that outvote it
    assert scores == {(0.0, 1): 1.0, (0.0, 3): 0.0, (1.0, 1): 0.0, (1.0, 3): 0.0}
    assert summary["best"]["params"] == {"solve.temperature": 0.0, "solve.samples": 1}
    bundle = load_bundle(Path(summary["bundle"]))
    layer = bundle.spec.graph.layers[0]
    assert (layer.temperature, layer.samples) == (0.0, 1)
    assert bundle.scores.best == 1.0
    assert bundle.training["search"]["study"] == "sums"
    assert bundle.training["search"]["params"] == {"solve.temperature": 0.0, "solve.samples": 1}
    assert bundle.spec.search is not None  # the space travels with the bundle


def test_a_study_resumes_where_it_stopped(capsys, task, tmp_path) -> None:
    spec, val = task
    out = tmp_path / "out"
    with OpenAIServer(reply=answer_at_temperature_zero) as server:
        code, first, err = search(capsys, spec, val, out, server, "--trials", 2)
        assert code == 0, err
        calls_after_two = server.request_count
        code, again, err = search(capsys, spec, val, out, server, "--trials", 2)
        assert code == 0, err
        assert server.request_count == calls_after_two  # two trials were done: nothing re-runs
        code, more, err = search(capsys, spec, val, out, server, "--trials", 3)
        assert code == 0, err
    assert [t["number"] for t in first["trials"]] == [0, 1]
    assert [t["number"] for t in more["trials"]] == [0, 1, 2]
    assert [t["params"] for t in more["trials"][:2]] == [t["params"] for t in first["trials"]]
    assert (out / "study.db").is_file()


@pytest.mark.parametrize("objective", ["score", "score,cost"])
def test_the_cheapest_of_the_best_scores_is_shipped(capsys, task, tmp_path, objective) -> None:
    spec, val = task
    with OpenAIServer(reply=lambda request: answer_at_temperature_zero({**request, "temperature": 0})) as server:
        code, summary, err = search(capsys, spec, val, tmp_path / "out", server, "--trials", 4,
                                    "--objective", objective)  # fmt: skip
    assert code == 0, err
    assert all(t["score"] == 1.0 for t in summary["trials"])  # every choice is right here
    assert summary["best"]["params"]["solve.samples"] == 1
    assert summary["best"]["calls_per_example"] == 1.0
    costs = sorted(t["calls_per_example"] for t in summary["trials"])
    assert costs == [1.0, 1.0, 3.0, 3.0]


def test_report_draws_the_study(capsys, task, tmp_path) -> None:
    spec, val = task
    out = tmp_path / "out"
    with OpenAIServer(reply=answer_at_temperature_zero) as server:
        code, summary, err = search(capsys, spec, val, out, server, "--trials", 4, "--report")
    assert code == 0, err
    for name in ("history", "importance"):
        path = Path(summary["plots"][name])
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_a_failing_trial_fails_alone_and_others_go_on(capsys, task, tmp_path) -> None:
    spec, val = task
    text = spec.read_text().replace("temperature: [0.0, 1.0]", "aggregator: [vote, verify]\n      temperature: [0.0]")
    spec.write_text(text)  # `verify` needs its `verifier` option, which a swap leaves out: those trials fail
    with OpenAIServer(reply=answer_at_temperature_zero) as server:
        code, summary, err = search(capsys, spec, val, tmp_path / "out", server, "--trials", 4)
    assert code == 0, err
    states = {(t["params"]["solve.aggregator"], t["state"]) for t in summary["trials"]}
    assert states == {("vote", "complete"), ("verify", "fail")}
    failed = next(t for t in summary["trials"] if t["state"] == "fail")
    assert "verifier" in failed["note"]
    assert summary["best"]["params"]["solve.aggregator"] == "vote"


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_bad_input_is_one_line_before_any_model_call(capsys, task, tmp_path) -> None:
    spec, val = task
    with OpenAIServer(reply=answer_at_temperature_zero) as server:
        spec.write_text(spec.read_text().replace("    solve:\n      temperature", "    solv:\n      temperature"))
        code, _, err = search(capsys, spec, val, tmp_path / "out", server)
        assert code == 2
        assert "search.layers.solv: no such layer" in one_line_error(err)
        spec.write_text(spec.read_text().replace("solv:", "solve:"))
        code, _, err = search(capsys, spec, val, tmp_path / "out", server, "--compile-calls", 10)
        assert code == 2
        assert "--compile-calls needs" in one_line_error(err)
        code, _, err = search(
            capsys, spec, val, tmp_path / "out", server, "--storage", "postgresql://u:hunter22@127.0.0.1:1/x"
        )
        assert code == 2
        line = one_line_error(err)
        assert "--storage" in line and "hunter22" not in line
        assert server.request_count == 0


def test_search_with_compile_calls_trains_each_trial(capsys, task, tmp_path) -> None:
    spec, val = task
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in QUESTIONS.items()))
    with OpenAIServer(reply=answer_at_temperature_zero) as server:
        code, summary, err = search(capsys, spec, val, tmp_path / "out", server, "--trials", 2,
                                    "--train", train, "--compile-calls", 60)  # fmt: skip
    assert code == 0, err
    bundle = load_bundle(Path(summary["bundle"]))
    assert bundle.training["max_calls"] == 60
    assert "steps" in bundle.training


def test_trials_record_their_worker(task, tmp_path, capsys) -> None:
    spec, val = task
    out = tmp_path / "out"
    with OpenAIServer(reply=answer_at_temperature_zero) as server:
        code, _, err = search(capsys, spec, val, out, server, "--trials", 1)
    assert code == 0, err
    study = optuna.load_study(study_name="sums", storage=f"sqlite:///{out / 'study.db'}")
    assert study.trials[0].user_attrs["worker"].endswith(f":{__import__('os').getpid()}")
