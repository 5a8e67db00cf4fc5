"""Faults lose nothing: `ann eval` and `ann compile` against a loopback server that fails 30 % of requests.

The faults are 429 with and without Retry-After, 500, connection resets, hangs past the client's
timeout, truncated JSON and garbage, drawn by a seeded policy from each request's body, so every
run of these tests sees the same faults. Accounting must come out exact: every request the server
received is either a call (its tokens counted) or a failed attempt, and each failed attempt shows
in the trace of the call that made it.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from ann.cli import main
from ann.testing import (
    Fault,
    OpenAIServer,
    garbage,
    hang,
    random_faults,
    rate_limit,
    reset,
    server_error,
    truncated,
)
from tests.cli.test_cli import CALLS_PER_EXAMPLE, DATA, RECORDS, right
from tests.cli.test_cli import SPEC as ARITHMETIC
from tests.cli.test_compile_cli import SPEC as TICKETS
from tests.cli.test_compile_cli import TRAIN, VAL, forward_reply, make_reply, write_jsonl

# Every kind of fault, a hang well past the client's timeout so that its late reply is never taken.
FAULTS = (rate_limit(1), rate_limit(None), server_error(), reset(), hang(6), truncated(), garbage())
KINDS = {"rate_limit", "server_error", "reset", "hang", "truncated", "garbage"}
SEED = 3


@pytest.fixture(autouse=True)
def model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANN_MODEL", "ANN_API_BASE", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)


def flags(server: OpenAIServer, *, retries: int = 5) -> list[str]:
    """Quick retries and a 3 s timeout (a hang's cost), so that a run with dozens of faults takes seconds."""
    return ["--model", "openai/x", "--api-base", server.base_url, "--no-cache", "--retries", str(retries),
            "--backoff", "0.05", "--timeout", "3"]  # fmt: skip


def cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def assert_every_request_accounted(server: OpenAIServer, usage: dict[str, Any]) -> None:
    """Each request is one call (tokens counted, as the server counted them) or one failed attempt."""
    answered = server.answered
    assert usage["calls"] == answered["completions"]
    assert usage["prompt_tokens"] == answered["prompt_tokens"]
    assert usage["completion_tokens"] == answered["completion_tokens"]
    assert usage["failed_attempts"] == sum(server.faults_served.values())
    assert usage["calls"] + usage["failed_attempts"] == server.request_count


def poison(text: str, base: Fault | None = None) -> Any:
    """A policy: every request whose last message holds ``text`` fails with a 500, for good."""

    def policy(body: dict[str, Any], occurrence: int) -> Fault | None:
        return server_error() if text in body["messages"][-1]["content"] else base

    return policy


# eval


def test_eval_under_30_percent_faults_scores_and_counts_as_without(capsys, tmp_path: Path) -> None:
    traces = tmp_path / "traces.jsonl"
    with OpenAIServer(reply=right, fault_policy=random_faults(0.3, seed=SEED, faults=FAULTS)) as server:
        code, out, err = cli(capsys, "eval", ARITHMETIC, "--data", DATA, "--traces", traces, *flags(server), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert set(server.faults_served) == KINDS  # every kind of fault was met
    assert summary["failed_attempts"] >= 0.25 * server.request_count
    # Nothing lost: the same score and the same calls as a run without faults.
    assert (summary["score"], summary["examples"], summary["failed_runs"]) == (1.0, len(RECORDS), 0)
    assert summary["calls"] == CALLS_PER_EXAMPLE * len(RECORDS)
    assert_every_request_accounted(server, summary)
    # Each retry is in the trace of the call that made it, with its reason.
    saved = [json.loads(line) for line in traces.read_text(encoding="utf-8").splitlines()]
    attempts = [reason for trace in saved for call in trace["calls"] for reason in call["failed_attempts"]]
    assert len(attempts) == summary["failed_attempts"]
    assert all(reason.startswith(f"model openai/x at {server.base_url}: ") for reason in attempts)
    assert any("RateLimitError" in reason for reason in attempts) and any("Timeout" in reason for reason in attempts)


def test_a_call_that_keeps_failing_fails_its_example_with_the_reason(capsys, tmp_path: Path) -> None:
    traces = tmp_path / "traces.jsonl"
    last = RECORDS[-1]  # run last, after the model has answered others
    with OpenAIServer(reply=right, fault_policy=poison(last["question"])) as server:
        argv = ["eval", ARITHMETIC, "--data", DATA, "--traces", traces, *flags(server, retries=2), "--json"]
        code, out, err = cli(capsys, *argv)
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["examples"], summary["failed_runs"]) == (len(RECORDS), 1)
    assert summary["score"] == round((len(RECORDS) - 1) / len(RECORDS), 4)
    assert summary["failed_attempts"] == 3  # the first call of the example, and its two retries
    assert_every_request_accounted(server, summary)
    failed = [json.loads(line) for line in traces.read_text(encoding="utf-8").splitlines()][-1]
    assert failed["example_id"] == last["id"]
    assert failed["error"].startswith(f"model openai/x at {server.base_url}: ")
    assert "The server had an error (injected)" in failed["error"]
    (call,) = failed["calls"]
    assert call["error"] == failed["error"] and len(call["failed_attempts"]) == 3


def test_more_failed_examples_than_max_failures_stop_eval_with_one_line(capsys) -> None:
    last = RECORDS[-1]
    with OpenAIServer(reply=right, fault_policy=poison(last["question"])) as server:
        argv = ["eval", ARITHMETIC, "--data", DATA, *flags(server, retries=0), "--max-failures", "0"]
        code, _, err = cli(capsys, *argv)
    assert code == 1
    line = one_line(err)
    assert line.startswith(f"error: 1 of {len(RECORDS)} examples failed because a model call kept failing")
    assert "--max-failures 0 allows" in line and "The server had an error (injected)" in line


# compile


def compile_args(tmp_path: Path, server: OpenAIServer, *extra: object) -> list[object]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(TICKETS, encoding="utf-8")
    train, val = write_jsonl(tmp_path / "train.jsonl", TRAIN, "t"), write_jsonl(tmp_path / "val.jsonl", VAL, "v")
    return ["compile", spec, "--train", train, "--val", val, "--out", tmp_path / "run", "--epochs", 1,
            "--batch-size", 2, "--json", *extra]  # fmt: skip


def test_compile_under_30_percent_faults_trains_and_counts_as_without(capsys, tmp_path: Path) -> None:
    with OpenAIServer(reply=make_reply(), fault_policy=random_faults(0.3, seed=SEED, faults=FAULTS)) as server:
        code, out, err = cli(capsys, *compile_args(tmp_path, server, *flags(server)))
    assert code == 0, err
    summary = json.loads(out)
    assert server.faults_served and summary["failed_attempts"] == sum(server.faults_served.values())
    # The same run as without faults (test_compile_cli: 0 -> 1 in one step, 27 calls).
    assert (summary["val_before"], summary["val_after"], summary["steps"], summary["accepted"]) == (0.0, 1.0, 1, 1)
    assert summary["calls"] == 27
    assert_every_request_accounted(server, summary)


def test_compile_stops_on_too_many_failed_examples_and_resumes_from_its_checkpoint(capsys, tmp_path: Path) -> None:
    def policy(body: dict[str, Any], occurrence: int) -> Fault | None:
        # Validating the trained prompt, the route agent's calls on two of the five val tickets fail for good.
        system, ticket = body["messages"][0]["content"], body["messages"][-1]["content"]
        failing = forward_reply(system) is not None and "BILLING-RULE" in system and ticket in (VAL[3], VAL[4])
        return server_error() if failing else None

    with OpenAIServer(reply=make_reply(), fault_policy=policy) as server:
        code, _, err = cli(capsys, *compile_args(tmp_path, server, *flags(server, retries=1)))
    assert code == 1
    line = one_line(err)
    assert line.startswith("error: 2 of 5 examples failed because a model call kept failing, more than --max-failures")
    assert line.endswith(f"the last finished step is saved — continue with: --out {tmp_path / 'run'} --resume")
    checkpoint = json.loads((tmp_path / "run" / "checkpoint.json").read_text(encoding="utf-8"))
    assert checkpoint["baseline_score"] == 0.0 and checkpoint["history"] == []
    assert not (tmp_path / "run" / "bundle.json").exists()

    with OpenAIServer(reply=make_reply()) as server:
        code, out, err = cli(capsys, *compile_args(tmp_path, server, *flags(server), "--resume"))
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["val_before"], summary["val_after"], summary["accepted"]) == (0.0, 1.0, 1)
