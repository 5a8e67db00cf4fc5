"""`ann compile` in-process against a loopback OpenAI-compatible server (through LiteLLM for real).

The server plays every model: the route agent answers "billing" only once its instructions hold the
word BILLING-RULE (else "shipping"), and the critic, debugger, summariser and rewriter get the JSON
they ask for, the rewriter proposing instructions with that word. So one accepted step takes
validation from 0.0 to 1.0, and the bundle must carry the trained prompt to `ann run` / `ann eval`.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ann.cli import main
from ann.optimizers.prompts import CRITIC_ROLE, DEBUGGER_ROLE, REWRITER_ROLE, SUMMARISER_ROLE
from ann.testing import OpenAIServer

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schema" / "bundle-v1.schema.json").read_text(encoding="utf-8"))
SECRET = "sk-secret-xyz"
OLD_ROLE, OLD_INSTRUCTIONS = "a support agent", "Read the ticket and name the team that handles it."
NEW_ROLE, NEW_INSTRUCTIONS = "a billing triage agent", "Always answer BILLING-RULE style: the team name."
PARAM = "route.router.instructions"
SPEC = f"""\
name: tiny
description: Route a support ticket to the team that handles it.
inputs: [ticket]
outputs: [category]
metric: exact_match
graph:
  layers:
    - name: route
      inputs: [ticket]
      outputs: [category]
      agents:
        - {{name: router, role: {OLD_ROLE}, instructions: {OLD_INSTRUCTIONS}}}
"""
TRAIN = [f"I was charged twice for order {i}." for i in range(4)]
VAL = [f"Please refund payment number {i}." for i in range(5)]


def forward_reply(system: str) -> str | None:
    """The route agent's reply, or None when the call is not the route agent's."""
    if system.endswith("Reply with the category."):
        return "billing" if "BILLING-RULE" in system else "shipping"
    return None


def make_reply(new_instructions: str = NEW_INSTRUCTIONS) -> Callable[[dict[str, Any]], str]:
    """The server's script; the rewriter proposes ``new_instructions`` for the route agent."""

    def reply(request: dict[str, Any]) -> str:
        messages = request["messages"]
        system = messages[0]["content"]
        forward = forward_reply(system)
        if forward is not None:
            return forward
        if CRITIC_ROLE in system:
            return json.dumps({"critique": "The ticket is about a payment, so the team is billing."})
        if DEBUGGER_ROLE in system:
            keys = [line.split('"')[1] for line in system.splitlines() if line.startswith('- "')]
            return json.dumps({key: f"feedback for {key}" for key in keys})
        if SUMMARISER_ROLE in system:
            return json.dumps({"merged": "- name the billing team for payment problems"})
        if REWRITER_ROLE in system:
            purpose = messages[1]["content"].split("Purpose:\n")[1].split("\n")[0]
            return json.dumps({"new_text": NEW_ROLE if purpose.startswith("the role") else new_instructions})
        raise ValueError(f"unexpected call: {system[:80]!r}")

    return reply


def kind(request: dict[str, Any]) -> str:
    """Which model role a recorded request played."""
    system = request["messages"][0]["content"]
    if forward_reply(system) is not None:
        return "forward"
    for name, role in (("critic", CRITIC_ROLE), ("debugger", DEBUGGER_ROLE), ("rewriter", REWRITER_ROLE)):
        if role in system:
            return name
    return "other"


@pytest.fixture
def server() -> OpenAIServer:
    with OpenAIServer(reply=make_reply()) as running:
        yield running


@pytest.fixture(autouse=True)
def model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANN_MODEL", raising=False)
    monkeypatch.delenv("ANN_API_BASE", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    # connect() sends this key to an OpenAI-compatible server; no output file may hold it.
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)


def write_jsonl(path: Path, tickets: list[str], prefix: str) -> Path:
    rows = [{"id": f"{prefix}{i}", "ticket": t, "category": "billing"} for i, t in enumerate(tickets)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def task(tmp_path: Path) -> dict[str, Path]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    return {
        "spec": spec,
        "train": write_jsonl(tmp_path / "train.jsonl", TRAIN, "t"),
        "val": write_jsonl(tmp_path / "val.jsonl", VAL, "v"),
        "out": tmp_path / "run",
    }


def model_flags(api_base: str) -> list[str]:
    return ["--model", "openai/x", "--api-base", api_base, "--no-cache", "--retries", "0", "--timeout", "10"]


def cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def compile_args(task: dict[str, Path], server: OpenAIServer, *extra: object) -> list[object]:
    return [
        "compile", task["spec"], "--train", task["train"], "--val", task["val"], "--out", task["out"],
        "--epochs", 1, "--batch-size", 2, *model_flags(server.base_url), *extra,
    ]  # fmt: skip


def compile_json(capsys, task, server, *extra: object) -> dict[str, Any]:
    code, out, err = cli(capsys, *compile_args(task, server, "--json", *extra))
    assert code == 0, err
    return json.loads(out)


def one_line_error(err: str) -> str:
    """The stderr of a failed command: exactly one non-empty line, no traceback."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def history(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "history.jsonl").read_text(encoding="utf-8").splitlines()]


# a full compile


def test_compile_trains_and_writes_the_run_directory(capsys, task, server) -> None:
    code, out, err = cli(capsys, *compile_args(task, server))
    assert code == 0, err
    assert any(line.startswith("validation 0.000 → 1.000 in 1 step (") for line in out.splitlines()), out
    run = task["out"]
    assert f"bundle: {run / 'bundle.json'}" in out.splitlines()
    assert sorted(p.name for p in run.iterdir()) == [
        "bundle.json", "checkpoint.json", "curve.png", "history.jsonl", "report.md",
    ]  # fmt: skip

    bundle = json.loads((run / "bundle.json").read_text(encoding="utf-8"))
    jsonschema.validate(bundle, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert bundle["scores"] == {"baseline": 0.0, "best": 1.0}
    agent = bundle["spec"]["graph"]["layers"][0]["agents"][0]
    assert (agent["role"], agent["instructions"]) == (NEW_ROLE, NEW_INSTRUCTIONS)
    assert bundle["params"][PARAM]["value"] == NEW_INSTRUCTIONS
    assert [(h["value"], h["score"], h["step"]) for h in bundle["params"][PARAM]["history"]] == [
        (OLD_INSTRUCTIONS, 0.0, None),
        (NEW_INSTRUCTIONS, 1.0, 1),
    ]
    assert bundle["spec"]["metric"]["name"] == "exact_match"
    assert set(bundle["data"]) == {"train", "val"} and all(h.startswith("sha256:") for h in bundle["data"].values())
    assert bundle["training"]["epochs"] == 1 and bundle["training"]["batch_size"] == 2
    assert bundle["training"]["steps"] == 1 and bundle["training"]["accepted"] == 1

    steps = history(run)
    assert [s["step"] for s in steps] == [1]
    assert all({"step", "val_score", "accepted", "changes"} <= set(s) for s in steps)
    (first,) = steps
    assert (first["val_score"], first["accepted"]) == (1.0, True)
    assert {c["param"]: (c["old"], c["new"]) for c in first["changes"]} == {
        "route.router.role": (OLD_ROLE, NEW_ROLE),
        PARAM: (OLD_INSTRUCTIONS, NEW_INSTRUCTIONS),
    }
    assert all(c["gradient"] == "- feedback for agent_router" for c in first["changes"])

    report = (run / "report.md").read_text(encoding="utf-8")
    assert "0.000 → 1.000" in report
    assert f"### `{PARAM}`" in report
    assert f"> {OLD_INSTRUCTIONS}" in report and f"> {NEW_INSTRUCTIONS}" in report
    assert "![validation score per step](curve.png)" in report
    assert (run / "curve.png").read_bytes().startswith(b"\x89PNG")

    checkpoint = json.loads((run / "checkpoint.json").read_text(encoding="utf-8"))
    assert checkpoint["version"] == 1
    assert checkpoint["best_state"][PARAM] == NEW_INSTRUCTIONS
    assert checkpoint["best_score"] == 1.0

    for path in run.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path.name
    # baseline on 5 val; step 1: 2 forward, 2 critic, 2 debugger, 2 rewrites, screening on the other 2
    # training examples (2 for the current prompt, 2 for the rewrite), 5 val; then validation is perfect,
    # so training stops rather than run the second minibatch; the final graph is measured afresh (5 val,
    # real calls here because of --no-cache)
    assert server.request_count == 27
    assert [kind(r) for r in server.requests].count("rewriter") == 2


def test_a_proposal_that_does_not_raise_validation_is_reverted(capsys, task) -> None:
    with OpenAIServer(reply=make_reply("Be brief and polite.")) as server:
        summary = compile_json(capsys, task, server)
    assert (summary["val_before"], summary["val_after"], summary["accepted"]) == (0.0, 0.0, 0)
    steps = history(task["out"])
    # the second step's rewriter proposes the same texts again: rejected unvalidated, as already tried
    assert [(s["val_score"], s["accepted"]) for s in steps] == [(0.0, False), (None, False)]
    assert all(r["reason"].startswith("already tried and reverted") for r in steps[1]["rejected"])
    assert all(c["new"] in (NEW_ROLE, "Be brief and polite.") for s in steps for c in s["changes"])
    bundle = json.loads((task["out"] / "bundle.json").read_text(encoding="utf-8"))
    agent = bundle["spec"]["graph"]["layers"][0]["agents"][0]
    assert (agent["role"], agent["instructions"]) == (OLD_ROLE, OLD_INSTRUCTIONS)
    assert bundle["scores"] == {"baseline": 0.0, "best": 0.0}
    assert len(bundle["params"][PARAM]["history"]) == 1
    report = (task["out"] / "report.md").read_text(encoding="utf-8")
    assert "0.000 → 0.000" in report and "| reverted |" in report and "No param changed" in report


def test_json_prints_a_summary(capsys, task, server) -> None:
    summary = compile_json(capsys, task, server)
    assert summary["val_before"] == 0.0 and summary["val_after"] == 1.0
    assert summary["steps"] == 1 and summary["accepted"] == 1
    assert summary["stopped"] == "validation reached 1.000, the most a metric gives"
    assert summary["calls"] == server.request_count == 27
    assert Path(summary["bundle"]) == task["out"] / "bundle.json"
    assert Path(summary["report"]) == task["out"] / "report.md"


def test_the_bundle_carries_the_trained_prompt_to_run_and_eval(capsys, task, server) -> None:
    compile_json(capsys, task, server)
    bundle = task["out"] / "bundle.json"
    ticket = json.dumps({"ticket": "My card was charged but the order never shipped."})
    code, out, err = cli(capsys, "run", bundle, "--input", ticket, *model_flags(server.base_url))
    assert code == 0, err
    assert "category: billing" in out
    assert NEW_INSTRUCTIONS in server.requests[-1]["messages"][0]["content"]

    code, out, err = cli(capsys, "eval", bundle, "--data", task["val"], *model_flags(server.base_url), "--json")
    assert code == 0, err
    assert json.loads(out)["score"] == 1.0
    # The spec it came from still scores 0: the gain lives in the bundle.
    code, out, err = cli(capsys, "eval", task["spec"], "--data", task["val"], *model_flags(server.base_url), "--json")
    assert code == 0, err
    assert json.loads(out)["score"] == 0.0


def test_a_broken_bundle_is_one_line_and_exit_2(capsys, task, server, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "ann.bundle", "version": 2}', encoding="utf-8")
    code, _, err = cli(capsys, "run", broken, "--input", '{"ticket": "x"}', *model_flags(server.base_url))
    assert code == 2
    line = one_line_error(err)
    assert str(broken) in line and "version 2" in line
    assert server.request_count == 0


# an existing run directory, and resuming


def test_a_finished_run_directory_needs_resume(capsys, task, server) -> None:
    compile_json(capsys, task, server)
    bundle_before = (task["out"] / "bundle.json").read_text(encoding="utf-8")
    calls = server.request_count

    code, _, err = cli(capsys, *compile_args(task, server))
    assert code == 2
    line = one_line_error(err)
    assert str(task["out"]) in line and "already holds a run" in line and "--resume" in line
    assert server.request_count == calls
    assert (task["out"] / "bundle.json").read_text(encoding="utf-8") == bundle_before

    # Resuming a finished run does nothing more, even with another epoch: validation is already perfect.
    summary = compile_json(capsys, task, server, "--resume")
    assert (summary["val_before"], summary["val_after"], summary["steps"]) == (0.0, 1.0, 1)
    summary = compile_json(capsys, task, server, "--resume", "--epochs", 2)
    assert (summary["val_before"], summary["val_after"], summary["steps"]) == (0.0, 1.0, 1)
    assert summary["stopped"] == "validation reached 1.000, the most a metric gives"
    assert server.request_count == calls
    assert [s["step"] for s in history(task["out"])] == [1]


def test_a_stopped_run_resumes_without_repeating_the_baseline(capsys, task, server) -> None:
    summary = compile_json(capsys, task, server, "--max-calls", 5)
    assert summary["steps"] == 0 and summary["val_after"] == 0.0
    calls = server.request_count
    assert calls == 5

    summary = compile_json(capsys, task, server, "--resume")
    assert (summary["val_before"], summary["val_after"], summary["steps"]) == (0.0, 1.0, 1)
    resumed = server.requests[calls:]
    first_inputs = [r["messages"][-1]["content"] for r in resumed[:2]]
    assert kind(resumed[0]) == "forward" and all(text in TRAIN for text in first_inputs)
    assert len(resumed) == 27 - len(VAL)
    bundle = json.loads((task["out"] / "bundle.json").read_text(encoding="utf-8"))
    assert bundle["scores"] == {"baseline": 0.0, "best": 1.0}


def test_resume_without_a_checkpoint_is_one_line(capsys, task, server) -> None:
    code, _, err = cli(capsys, *compile_args(task, server, "--resume"))
    assert code == 2
    assert "no checkpoint to resume from" in one_line_error(err)


# budgets


def test_a_call_budget_stops_cleanly_and_still_writes_the_bundle(capsys, task, server) -> None:
    summary = compile_json(capsys, task, server, "--max-calls", 5)
    assert "call budget" in summary["stopped"] and "5 of 5 calls" in summary["stopped"]
    assert summary["val_before"] == summary["val_after"] == 0.0
    assert server.request_count == 5
    bundle = json.loads((task["out"] / "bundle.json").read_text(encoding="utf-8"))
    jsonschema.validate(bundle, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert bundle["scores"]["best"] == bundle["scores"]["baseline"] == 0.0
    assert bundle["spec"]["graph"]["layers"][0]["agents"][0]["instructions"] == OLD_INSTRUCTIONS
    assert bundle["training"]["max_calls"] == 5 and "call budget" in bundle["training"]["stopped"]
    assert "No param changed" in (task["out"] / "report.md").read_text(encoding="utf-8")


# the optimizer's own model


def test_optimizer_model_takes_the_optimizer_calls(capsys, task, server, monkeypatch) -> None:
    # --optimizer-model takes no --api-base; LiteLLM's own variable points the openai provider here.
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    summary = compile_json(capsys, task, server, "--optimizer-model", "openai/critic-model")
    assert summary["val_after"] == 1.0
    models = {(kind(r), r["model"]) for r in server.requests}
    assert models == {("forward", "x"), ("critic", "critic-model"), ("debugger", "critic-model"),
                      ("rewriter", "critic-model")}  # fmt: skip
    bundle = json.loads((task["out"] / "bundle.json").read_text(encoding="utf-8"))
    assert bundle["training"]["optimizer_model"] == "openai/critic-model"


# bad input: one line, exit 2, no model call


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--batch-size", 0), ("--epochs", 0), ("--max-calls", 0), ("--max-cost", -1), ("--patience", 0)],
)
def test_a_bad_setting_is_one_line_naming_it(capsys, task, server, flag: str, value: int) -> None:
    code, _, err = cli(capsys, *compile_args(task, server, flag, value))
    assert code == 2
    line = one_line_error(err)
    assert f"bad training setting {flag} {float(value) if flag == '--max-cost' else value}: " in line
    assert server.request_count == 0


def test_a_spec_without_a_metric_is_one_line(capsys, task, server) -> None:
    task["spec"].write_text(SPEC.replace("metric: exact_match\n", ""), encoding="utf-8")
    code, _, err = cli(capsys, *compile_args(task, server))
    assert code == 2
    line = one_line_error(err)
    assert "no metric" in line and "metric: exact_match" in line
    assert server.request_count == 0
    assert not task["out"].exists()


def test_a_missing_train_file_is_one_line(capsys, task, server, tmp_path: Path) -> None:
    task["train"] = tmp_path / "nowhere.jsonl"
    code, _, err = cli(capsys, *compile_args(task, server))
    assert code == 2
    assert "nowhere.jsonl" in one_line_error(err)
    assert server.request_count == 0


def test_compile_requires_its_data_flags(capsys, task) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["compile", str(task["spec"]), "--val", str(task["val"]), "--out", str(task["out"])])
    assert exited.value.code == 2
    assert "--train" in capsys.readouterr().err


def test_compiling_from_a_bundle_keeps_param_histories(capsys, task, server) -> None:
    compile_json(capsys, task, server)
    first = json.loads((task["out"] / "bundle.json").read_text())
    trained = [name for name, p in first["params"].items() if len(p["history"]) > 1]
    assert trained
    again = dict(task, spec=task["out"] / "bundle.json", out=task["out"].parent / "again")
    compile_json(capsys, again, server)
    second = json.loads((again["out"] / "bundle.json").read_text())
    for name in trained:
        assert (
            second["params"][name]["history"][: len(first["params"][name]["history"])]
            == first["params"][name]["history"]
        )
