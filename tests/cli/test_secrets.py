"""Secrets: API keys set in the environment never reach a file ann writes or a message it prints.

Every command runs in-process against the loopback OpenAI-compatible server with three fake keys
set: OpenAI's, Anthropic's and a custom one that an HTTP tool sends as its ``Authorization``
header (to a loopback API that echoes it back, as a careless or hostile API might). Then every file
under the test's directory (outputs, run directories, traces, the call cache) and everything
printed is searched for the keys. The error paths too: a provider whose 401 quotes the key it got,
an unknown model, with ``-v`` tracebacks.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ann.cli import main
from ann.optimizers.prompts import (
    ANALYZER_ROLE,
    CRITIC_ROLE,
    DEBUGGER_ROLE,
    DRAFT_REWRITER_ROLE,
    EXPLORER_ROLE,
    REWRITER_ROLE,
    SUMMARISER_ROLE,
)
from ann.testing import OpenAIServer

SPEC = """\
name: secrets
description: Route a support ticket to the team that handles it.
inputs: [ticket]
outputs: [team]
metric: exact_match
tools: api.yaml
graph:
  layers:
    - name: route
      inputs: [ticket]
      outputs: [team]
      agents:
        - {name: router, role: a router, instructions: Name the team., tools: [whoami]}
"""
PLAN = {
    "layers": [
        {"name": "route", "inputs": ["ticket"], "outputs": ["team"], "aggregator": "single",
         "agents": [{"name": "router", "role": "a router", "instructions": "Pick the team."}]}
    ]
}  # fmt: skip


class EchoApi(BaseHTTPRequestHandler):
    """Answers every request by quoting the credentials it was sent: 200 on GET, 401 on POST."""

    seen: list[str] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int) -> None:
        sent = self.headers.get("Authorization") or self.headers.get("x-api-key") or self.headers.get("api-key")
        type(self).seen.append(sent or "")
        if status == 200:
            payload: dict[str, Any] = {"you_sent": sent}
        else:
            payload = {"error": {"message": f"Incorrect API key provided: {sent}", "type": "invalid_request_error",
                                 "code": "invalid_api_key"}}  # fmt: skip
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply(200)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._reply(401)


@pytest.fixture
def echo_api() -> Iterator[str]:
    EchoApi.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Fresh fake keys in the environment, and every default location of ann's files inside tmp_path."""
    chosen = {
        "OPENAI_API_KEY": f"sk-test-{secrets.token_hex(16)}",
        "ANTHROPIC_API_KEY": f"sk-ant-test-{secrets.token_hex(16)}",
        "SHOP_TOKEN": f"shop-{secrets.token_hex(16)}",
    }
    for name, value in chosen.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ANN_TOOL_ENV", "SHOP_TOKEN@127.0.0.1")
    for name in ("ANN_MODEL", "ANN_API_BASE", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return chosen


def reply(request: dict[str, Any]) -> str:
    """Every model ann calls: the router (with its tool), the optimizer's roles, the planner, DRAFT."""
    messages = request["messages"]
    system, last = messages[0]["content"], messages[-1]["content"]
    if "You can use these tools" in system:
        if any(str(m["content"]).startswith("Observation from whoami") for m in messages):
            return json.dumps({"action": "final_answer", "team": "billing"})
        return json.dumps({"action": "whoami", "arguments": {}})
    if "design a team of AI agents" in system:
        return json.dumps(PLAN)
    if CRITIC_ROLE in system:
        return json.dumps({"critique": "The ticket is about a payment, so the team is billing."})
    if DEBUGGER_ROLE in system:
        fields = [line.split('"')[1] for line in system.splitlines() if line.startswith('- "')]
        return json.dumps({field: f"feedback for {field}" for field in fields})
    if SUMMARISER_ROLE in system:
        return json.dumps({"merged": "- name the billing team for payment problems"})
    if REWRITER_ROLE in system:
        return json.dumps({"new_text": "Always answer billing."})
    if EXPLORER_ROLE in system:
        return json.dumps({"arguments": {}})
    if ANALYZER_ROLE in system:
        return json.dumps({"suggestions": "Say what it returns."})
    if DRAFT_REWRITER_ROLE in system:
        return json.dumps({"documentation": "Tell who is calling."})
    return "billing" if "ticket" in last.lower() else "ok"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(reply) as running:
        yield running


@pytest.fixture
def task(tmp_path: Path, echo_api: str) -> dict[str, Path]:
    folder = tmp_path / "task"
    folder.mkdir()
    api = {"operations": [{"name": "whoami", "url": f"{echo_api}/whoami", "description": "Who is calling.",
                           "headers": {"Authorization": "Bearer ${SHOP_TOKEN}"}, "env": ["SHOP_TOKEN"]}]}  # fmt: skip
    (folder / "api.yaml").write_text(json.dumps(api), encoding="utf-8")
    (folder / "spec.yaml").write_text(SPEC, encoding="utf-8")
    (folder / "plain.yaml").write_text(SPEC.split("tools: api.yaml\n")[0], encoding="utf-8")  # no graph, no tools
    rows = "".join(json.dumps({"id": f"t{i}", "ticket": f"I was charged twice ({i}).", "team": "billing"}) + "\n"
                   for i in range(4))  # fmt: skip
    (folder / "data.jsonl").write_text(rows, encoding="utf-8")
    return {"spec": folder / "spec.yaml", "plain": folder / "plain.yaml", "data": folder / "data.jsonl"}


def run_all(capsys: pytest.CaptureFixture[str], commands: list[list[object]]) -> list[tuple[int, str]]:
    """Run each command; the exit code and everything it printed."""
    results = []
    for argv in commands:
        code = main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        results.append((code, out + err))
    return results


def leaks(keys: dict[str, str], root: Path, printed: list[tuple[int, str]]) -> list[str]:
    """Where any key shows up: file paths under ``root``, or the index of a command whose output holds it."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path.relative_to(root)} holds {name}" for name, key in keys.items() if key.encode() in data]
    for i, (_, text) in enumerate(printed):
        found += [f"command {i} printed {name}" for name, key in keys.items() if key in text]
    return found


def test_no_command_writes_or_prints_a_key(capsys, tmp_path, keys, server, task) -> None:
    model = ["--model", "openai/x", "--api-base", server.base_url, "--cache-dir", tmp_path / "cache",
             "--retries", "0", "--timeout", "20"]  # fmt: skip
    embed = ["--embed-model", "openai/embed", "--embed-api-base", server.base_url]
    spec, plain, data, run = task["spec"], task["plain"], task["data"], tmp_path / "run"
    ticket = '{"ticket": "I was charged twice."}'
    results = run_all(capsys, [
        ["run", spec, "--input", ticket, "--traces", tmp_path / "one.jsonl", *model],
        ["run", spec, "--data", data, "--out", tmp_path / "out.jsonl", "--traces", tmp_path / "run.jsonl", *model],
        ["eval", spec, "--data", data, "--traces", tmp_path / "eval.jsonl", "--json", *model],
        ["compile", spec, "--train", data, "--val", data, "--out", run, "--epochs", 1, "--batch-size", 2,
         "--max-calls", 12, *model],
        ["compile", spec, "--train", data, "--val", data, "--out", run, "--epochs", 2, "--batch-size", 2,
         "--resume", *model],
        ["show", spec],
        ["show", run / "bundle.json", "--json"],
        ["eval", run / "bundle.json", "--data", data, *model],
        ["plan", plain, "--train", data, "--write", tmp_path / "planned.yaml", *model],
        ["tools", "refine", spec, "--out", tmp_path / "draft", "--episodes", 1, *model, *embed],
    ])  # fmt: skip
    assert [code for code, _ in results] == [0] * len(results), [text[-400:] for _, text in results]
    # The keys were really used: the tool sent the custom key, and got it back in its reply.
    assert f"Bearer {keys['SHOP_TOKEN']}" in EchoApi.seen
    for name in ("bundle.json", "history.jsonl", "report.md", "checkpoint.json"):
        assert (run / name).is_file(), name
    assert any((tmp_path / "cache").rglob("*")), "the call cache was written"
    found = leaks(keys, tmp_path, results)
    assert found == [], found


@pytest.mark.parametrize("verbose", [[], ["-v"]], ids=["plain", "verbose"])
def test_a_provider_that_quotes_the_key_in_its_error_does_not_leak_it(
    capsys, tmp_path, keys, task, echo_api, verbose
) -> None:
    flags = ["--model", "openai/x", "--api-base", f"{echo_api}/v1", "--no-cache", "--retries", "0", "--timeout", "10"]
    ticket = '{"ticket": "I was charged twice."}'
    results = run_all(capsys, [
        ["run", task["spec"], "--input", ticket, "--traces", tmp_path / "t.jsonl", *flags, *verbose],
        ["eval", task["spec"], "--data", task["data"], "--traces", tmp_path / "e.jsonl", *flags, *verbose],
    ])  # fmt: skip
    assert all(code == 1 for code, _ in results), results
    assert f"Bearer {keys['OPENAI_API_KEY']}" in EchoApi.seen, "the key went to the endpoint the user named"
    assert "Incorrect API key provided" in results[0][1]  # the provider's message is shown, the key masked
    found = leaks(keys, tmp_path, results)
    assert found == [], found


def test_an_unknown_model_or_provider_error_does_not_leak_a_key(capsys, tmp_path, keys, task) -> None:
    ticket = '{"ticket": "I was charged twice."}'
    results = run_all(capsys, [
        ["run", task["spec"], "--input", ticket, "--model", "nosuchprovider/x", "--no-cache", "--retries", "0", "-v"],
        ["eval", task["spec"], "--data", task["data"], "--model", "nosuchprovider/x", "--no-cache", "--retries", "0"],
    ])  # fmt: skip
    assert all(code == 1 for code, _ in results), results
    found = leaks(keys, tmp_path, results)
    assert found == [], found
