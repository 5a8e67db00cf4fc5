"""The `ann` command in-process (and once as `python -m ann.cli`) against a loopback model server."""

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ann.cli import main
from ann.testing import OpenAIServer

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "arithmetic" / "spec.yaml"
DATA = ROOT / "examples" / "arithmetic" / "test.jsonl"
RECORDS = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
ANSWERS = {record["question"]: record["answer"] for record in RECORDS}
CALLS_PER_EXAMPLE = 4  # extract: one reader; solve: three voters


def find_answer(request: dict[str, Any]) -> str:
    """The right answer to the arithmetic question inside the last user message."""
    text = request["messages"][-1]["content"]
    found = [question for question in ANSWERS if question in text]
    if len(found) != 1:
        raise ValueError(f"no single known question in {text!r}")
    return ANSWERS[found[0]]


def right(request: dict[str, Any]) -> str:
    return find_answer(request)


def wrong(request: dict[str, Any]) -> str:
    return str(int(find_answer(request)) + 1)


@pytest.fixture
def serve() -> Callable[..., OpenAIServer]:
    servers: list[OpenAIServer] = []

    def start(reply: Callable[[dict[str, Any]], str] = right) -> OpenAIServer:
        servers.append(OpenAIServer(reply=reply))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANN_MODEL", raising=False)
    monkeypatch.delenv("ANN_API_BASE", raising=False)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def model_flags(api_base: str) -> list[str]:
    return ["--model", "openai/x", "--api-base", api_base, "--no-cache", "--retries", "0", "--timeout", "5"]


def cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    """The stderr of a failed command: exactly one non-empty line, no traceback."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# eval


def test_eval_scores_right_answers_one(capsys, serve) -> None:
    server = serve(right)
    code, out, err = cli(capsys, "eval", SPEC, "--data", DATA, *model_flags(server.base_url), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["score"] == 1.0
    assert summary["examples"] == len(RECORDS) == 15
    assert summary["calls"] == CALLS_PER_EXAMPLE * len(RECORDS)
    assert summary["failed_runs"] == 0
    assert summary["prompt_tokens"] > 0
    assert summary["completion_tokens"] > 0
    assert summary["cache_hits"] == 0
    assert summary["metric"] == "numeric_match"
    assert server.request_count == CALLS_PER_EXAMPLE * len(RECORDS)


def test_eval_scores_wrong_answers_zero_and_still_succeeds(capsys, serve) -> None:
    server = serve(wrong)
    code, out, err = cli(capsys, "eval", SPEC, "--data", DATA, *model_flags(server.base_url), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["score"] == 0.0
    assert summary["examples"] == 15
    assert summary["failed_runs"] == 0


def test_eval_limit_and_traces(capsys, serve, tmp_path: Path) -> None:
    server = serve(right)
    traces = tmp_path / "traces.jsonl"
    argv = ["eval", SPEC, "--data", DATA, "--limit", 2, "--traces", traces, *model_flags(server.base_url), "--json"]
    code, out, err = cli(capsys, *argv)
    assert code == 0, err
    assert json.loads(out)["examples"] == 2
    assert server.request_count == 2 * CALLS_PER_EXAMPLE
    lines = traces.read_text().splitlines()
    assert len(lines) == 2
    saved = [json.loads(line) for line in lines]
    assert [trace["example_id"] for trace in saved] == [RECORDS[0]["id"], RECORDS[1]["id"]]
    assert all(len(trace["calls"]) == CALLS_PER_EXAMPLE for trace in saved)
    assert saved[0]["outputs"] == {"answer": RECORDS[0]["answer"]}


def test_eval_table_output_names_the_score(capsys, serve) -> None:
    server = serve(right)
    code, out, err = cli(capsys, "eval", SPEC, "--data", DATA, "--limit", 1, *model_flags(server.base_url))
    assert code == 0, err
    assert "score" in out and "1.0" in out


# run


def test_run_one_input_prints_the_answer(capsys, serve) -> None:
    server = serve(right)
    record = RECORDS[3]
    argv = ["run", SPEC, "--input", json.dumps({"question": record["question"]}), *model_flags(server.base_url)]
    code, out, err = cli(capsys, *argv)
    assert code == 0, err
    assert f"answer: {record['answer']}" in out
    assert server.request_count == CALLS_PER_EXAMPLE


def test_run_dataset_writes_one_json_line_per_example(capsys, serve, tmp_path: Path) -> None:
    server = serve(right)
    out_path = tmp_path / "outputs.jsonl"
    code, out, err = cli(capsys, "run", SPEC, "--data", DATA, "--out", out_path, *model_flags(server.base_url))
    assert code == 0, err
    rows = [json.loads(line) for line in out_path.read_text().splitlines()]
    assert len(rows) == len(RECORDS)
    assert [row["id"] for row in rows] == [record["id"] for record in RECORDS]
    assert [row["outputs"] for row in rows] == [{"answer": record["answer"]} for record in RECORDS]
    assert not any("error" in row for row in rows)


# errors: one line on stderr, the right exit code, and no model call for bad input


def test_malformed_yaml_names_file_and_line(capsys, serve, tmp_path: Path) -> None:
    server = serve()
    spec = write(
        tmp_path / "spec.yaml",
        "name: x\ninputs: [question]\noutputs: [answer]\ngraph:\n  layers:\n"
        "    - name: solve\n      inputs: [question]\n     outputs: [answer]\n",
    )
    code, _, err = cli(capsys, "eval", spec, "--data", DATA, *model_flags(server.base_url))
    assert code == 2
    line = one_line_error(err)
    assert f"{spec}:8:" in line and "invalid YAML" in line
    assert server.request_count == 0


def test_unknown_aggregator_names_file_and_layer(capsys, serve, tmp_path: Path) -> None:
    server = serve()
    text = SPEC.read_text()
    assert "aggregator: vote" in text
    spec = write(tmp_path / "spec.yaml", text.replace("aggregator: vote", "aggregator: nope"))
    code, _, err = cli(capsys, "eval", spec, "--data", DATA, *model_flags(server.base_url))
    assert code == 2
    line = one_line_error(err)
    assert str(spec) in line and "layer 'solve'" in line and "unknown aggregator 'nope'" in line
    assert server.request_count == 0


def test_bad_json_line_in_dataset_names_file_and_line(capsys, serve, tmp_path: Path) -> None:
    server = serve()
    data = write(tmp_path / "data.jsonl", DATA.read_text().splitlines()[0] + '\n{"question": "2+2?", \n')
    code, _, err = cli(capsys, "eval", SPEC, "--data", data, *model_flags(server.base_url))
    assert code == 2
    line = one_line_error(err)
    assert f"{data}:2:" in line and "invalid JSON" in line
    assert server.request_count == 0


def test_dataset_record_missing_the_input_field(capsys, serve, tmp_path: Path) -> None:
    server = serve()
    data = write(tmp_path / "data.jsonl", '{"id": "a", "prompt": "2+2?", "answer": "4"}\n')
    code, _, err = cli(capsys, "run", SPEC, "--data", data, *model_flags(server.base_url))
    assert code == 2
    line = one_line_error(err)
    assert f"{data}:1:" in line and "'question'" in line
    assert server.request_count == 0


def test_input_that_is_not_json(capsys, serve) -> None:
    server = serve()
    code, _, err = cli(capsys, "run", SPEC, "--input", "{question: 2+2}", *model_flags(server.base_url))
    assert code == 2
    assert "--input" in one_line_error(err)
    assert server.request_count == 0


def test_unknown_metric(capsys, serve) -> None:
    server = serve()
    code, _, err = cli(capsys, "eval", SPEC, "--data", DATA, "--metric", "nope", *model_flags(server.base_url))
    assert code == 2
    assert "unknown metric 'nope'" in one_line_error(err)
    assert server.request_count == 0


def test_unreachable_model_names_model_and_endpoint(capsys, closed_port: int) -> None:
    base = f"http://127.0.0.1:{closed_port}/v1"
    argv = ["eval", SPEC, "--data", DATA, "--limit", 1, *model_flags(base), "--timeout", 1]
    code, _, err = cli(capsys, *argv)
    assert code == 1
    assert f"openai/x at {base}" in one_line_error(err)


def test_verbose_shows_a_traceback(capsys, serve, tmp_path: Path) -> None:
    server = serve()
    data = write(tmp_path / "data.jsonl", "{not json\n")
    code, _, err = cli(capsys, "eval", SPEC, "--data", data, *model_flags(server.base_url), "-v")
    assert code == 2
    assert "Traceback" in err
    assert f"{data}:1:" in err


def test_python_dash_m_exits_with_the_error_code_and_one_line(closed_port: int) -> None:
    base = f"http://127.0.0.1:{closed_port}/v1"
    argv = ["run", SPEC, "--input", '{"question": "2+2?"}', *model_flags(base), "--timeout", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "ann.cli", *map(str, argv)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 1, done.stderr
    assert f"openai/x at {base}" in one_line_error(done.stderr)
    assert done.stdout == ""


# model-written code without the jail


def test_code_pass_without_bubblewrap_refuses_unless_unsafe_code(capsys, serve, monkeypatch) -> None:
    from ann.datasets import isolation, sandbox

    monkeypatch.setattr(sandbox, "isolation_problem", lambda: "bwrap not found; install bubblewrap")
    monkeypatch.setattr(isolation, "_unsafe_permitted", False)
    server = serve(lambda request: "```python\nreturn []\n```")
    spec = ROOT / "examples" / "humaneval" / "spec.yaml"
    argv = ["eval", spec, "--data", "humaneval", "--limit", "1", "--json", *model_flags(server.base_url)]
    code, _, err = cli(capsys, *argv)
    assert code == 1
    assert "cannot run model-written code in isolation: bwrap not found" in one_line_error(err)

    code, out, err = cli(capsys, *argv, "--unsafe-code")
    assert code == 0, err
    assert "WITHOUT isolation" in one_line_error(err)
    assert json.loads(out)["examples"] == 1
