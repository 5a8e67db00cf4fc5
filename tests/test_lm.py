"""ModelClient over the real LiteLLM path: a loopback OpenAI-compatible server, faults included.

A retry waits ``backoff_s`` (1 s unless a test sets it) or the server's Retry-After.
"""

import asyncio
import gc
import json
import socket
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

import ann
from ann.datasets.example import Example
from ann.errors import LMError
from ann.lm import Completion, ModelClient, ModelConfig
from ann.testing import OpenAIServer, empty_content, garbage, hang, rate_limit, reset, server_error, truncated
from ann.testing.scripted_lm import ScriptedLM
from ann.trace import save_traces

KEY = "sk-secret-123"
SYSTEM = {"role": "system", "content": "You are terse."}  # 3 words
USER = {"role": "user", "content": "what is two plus two"}  # 5 words
MESSAGES = [SYSTEM, USER]


def make_client(api_base: str, *, concurrency: int = 4, **config: Any) -> ModelClient:
    config.setdefault("num_retries", 0)
    config.setdefault("timeout_s", 5.0)
    return ModelClient(
        ModelConfig("openai/test", api_base=api_base, api_key=KEY, **config), cache=None, concurrency=concurrency
    )


def complete(client: ModelClient, messages: list[dict[str, str]] = MESSAGES, **kwargs: Any) -> Completion:
    return asyncio.run(client.complete(messages, **kwargs))


@pytest.fixture
def server():
    with OpenAIServer(reply=lambda request: "four") as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A port that was free a moment ago and has nothing listening on it now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_reply_and_server_usage_come_back_and_are_counted(server: OpenAIServer) -> None:
    client = make_client(server.base_url)
    first = complete(client)
    second = complete(client, [SYSTEM, {"role": "user", "content": "and three plus three"}])
    assert first.text == "four"
    assert (first.prompt_tokens, first.completion_tokens) == (8, 1)
    assert (second.prompt_tokens, second.completion_tokens) == (7, 1)
    assert first.cache_hit is False and first.latency_s > 0
    assert client.usage.calls == 2
    assert client.usage.prompt_tokens == 15
    assert client.usage.completion_tokens == 2
    assert client.usage.cache_hits == 0
    assert server.request_count == 2


@pytest.mark.parametrize(
    "fault",
    [rate_limit(0.05), server_error(), garbage()],
    ids=["429", "500", "garbage"],
)
def test_a_transient_fault_is_retried_and_the_call_succeeds(server: OpenAIServer, fault) -> None:
    server.inject(fault)
    client = make_client(server.base_url, num_retries=1)
    assert complete(client).text == "four"
    assert server.request_count == 2
    assert server.pending_faults == 0
    assert client.usage.calls == 1


def test_a_hung_call_times_out_and_is_retried(server: OpenAIServer) -> None:
    server.inject(hang(2))
    client = make_client(server.base_url, num_retries=1, timeout_s=0.5)
    assert complete(client).text == "four"
    # Had the timeout not fired, the first request would have answered after 2 s with no retry.
    assert server.request_count == 2


def test_persistent_500_raises_one_line_lm_error_naming_model_and_endpoint(server: OpenAIServer) -> None:
    server.inject(server_error(), server_error(), server_error())
    client = make_client(server.base_url, num_retries=1)
    with pytest.raises(LMError) as caught:
        complete(client)
    message = str(caught.value)
    assert f"openai/test at {server.base_url}" in message
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    assert "\n" not in message
    assert KEY not in message
    assert server.request_count == 2  # the call and its one retry, no more
    assert client.usage.calls == 0


def test_unreachable_endpoint_raises_lm_error_naming_model_and_endpoint(closed_port: int) -> None:
    base = f"http://127.0.0.1:{closed_port}/v1"
    client = make_client(base, timeout_s=1.0)
    with pytest.raises(LMError) as caught:
        complete(client)
    message = str(caught.value)
    assert f"openai/test at {base}" in message
    assert "\n" not in message
    assert KEY not in message


def test_response_format_reaches_the_server_unchanged(server: OpenAIServer) -> None:
    fmt = {
        "type": "json_object",
        "schema": {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]},
    }
    client = make_client(server.base_url)
    complete(client, response_format=fmt)
    assert server.requests[-1]["response_format"] == fmt
    complete(client)
    assert "response_format" not in server.requests[-1]


def test_seed_is_sent_plus_the_sample_index(server: OpenAIServer) -> None:
    client = make_client(server.base_url, seed=5)
    complete(client)
    complete(client, sample=2)
    assert [request["seed"] for request in server.requests] == [5, 7]
    unseeded = make_client(server.base_url)
    complete(unseeded)
    assert "seed" not in server.requests[-1]


def test_temperature_and_max_tokens_reach_the_server(server: OpenAIServer) -> None:
    client = make_client(server.base_url, temperature=0.3, max_tokens=50)
    complete(client)
    complete(client, temperature=0.9, max_tokens=7)
    first, second = server.requests
    assert (first["temperature"], first["max_tokens"]) == (0.3, 50)
    assert (second["temperature"], second["max_tokens"]) == (0.9, 7)


def test_concurrency_limit_caps_calls_in_flight() -> None:
    with OpenAIServer(reply=lambda request: "ok", latency_s=0.2) as server:
        client = make_client(server.base_url, concurrency=3)

        async def many() -> list[Completion]:
            calls = [client.complete([{"role": "user", "content": f"question {i}"}]) for i in range(12)]
            return await asyncio.gather(*calls)

        replies = asyncio.run(many())
        assert [reply.text for reply in replies] == ["ok"] * 12
        assert server.request_count == 12
        assert server.max_in_flight == 3


def test_calls_run_side_by_side_and_leave_the_event_loop_free() -> None:
    with OpenAIServer(reply=lambda request: "ok", latency_s=0.3) as server:
        client = make_client(server.base_url, concurrency=4)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async def calls() -> list[Completion]:
            ticker = asyncio.create_task(tick())
            replies = await asyncio.gather(*(client.complete([{"role": "user", "content": f"q{i}"}]) for i in range(4)))
            ticker.cancel()
            return replies

        assert [reply.text for reply in asyncio.run(calls())] == ["ok"] * 4
        assert server.max_in_flight == 4
        assert ticks >= 10  # the loop went on running while the requests waited on the server


def test_the_api_key_is_never_in_a_saved_trace(server: OpenAIServer, tmp_path: Path) -> None:
    client = make_client(server.base_url)
    layer = ann.Layer("s", [ann.Agent("a")], inputs=["q"], outputs=["answer"])
    graph = ann.Graph([layer], inputs=["q"], outputs=["answer"], lm=client)
    result = graph(q="what is two plus two")
    assert result.outputs == {"answer": "four"}
    path = tmp_path / "traces.jsonl"
    save_traces([result.trace], path)
    text = path.read_text()
    assert json.loads(text)["calls"][0]["raw"] == "four"  # the trace really was written
    assert KEY not in text
    assert KEY not in repr(client.config)
    public = client.config.public()
    assert "api_key" not in public
    assert KEY not in json.dumps(public)


def _two_output_graph(client: ModelClient) -> ann.Graph:
    """`s` answers with two fields (a JSON reply), `t` with one (plain text)."""
    s = ann.Layer("s", [ann.Agent("a")], inputs=["q"], outputs=["answer", "reason"])
    t = ann.Layer("t", [ann.Agent("b")], inputs=["answer"], outputs=["final"])
    return ann.Graph([s, t], inputs=["q"], outputs=["final", "reason"], lm=client)


def _json_or_text(request: dict[str, Any]) -> str:
    if "JSON" in request["messages"][0]["content"]:
        return json.dumps({"answer": "4", "reason": "two and two"})
    return "final 4"


@pytest.mark.parametrize("style", ["llamacpp", "none"])
def test_a_two_field_layer_asks_for_a_schema_only_in_llamacpp_style(style: str) -> None:
    with OpenAIServer(reply=_json_or_text) as server:
        client = make_client(server.base_url, schema_style=style)
        result = _two_output_graph(client)(q="what is two plus two")
        requests = server.requests
    assert result.outputs == {"final": "final 4", "reason": "two and two"}
    assert result.trace.calls[0].outputs == {"answer": "4", "reason": "two and two"}
    assert len(requests) == 2
    json_request, text_request = requests
    assert "response_format" not in text_request  # one output field: plain text, never a schema
    if style == "llamacpp":
        fmt = json_request["response_format"]
        assert fmt["type"] == "json_object"
        assert fmt["schema"]["required"] == ["answer", "reason"]
        assert set(fmt["schema"]["properties"]) == {"answer", "reason"}
    else:
        assert "response_format" not in json_request


def test_an_empty_reply_is_a_recorded_parse_error_not_a_crash() -> None:
    with OpenAIServer(reply=_json_or_text) as server:
        server.inject(empty_content())
        client = make_client(server.base_url, schema_style="llamacpp")
        graph = _two_output_graph(client)

        async def run() -> list[ann.Result]:
            return await asyncio.wait_for(graph.abatch([Example(inputs={"q": "two plus two"}, id="e1")]), 10)

        (result,) = asyncio.run(run())
        assert server.request_count == 1  # `t` never ran: its input was never produced
    assert result.error is not None and "empty reply" in result.error
    assert result.outputs == {}
    assert result.trace.error == result.error
    (call,) = result.trace.calls
    assert call.layer == "s" and call.raw == ""
    assert call.error is not None and "empty reply" in call.error
    assert call.outputs == {}
    assert result.trace.layers[0].decision == "failed"


def test_a_second_model_does_not_inherit_the_environment_endpoint(monkeypatch):
    from ann.connect import connect

    monkeypatch.setenv("ANN_API_BASE", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ANN_MODEL", "openai/from-env")
    assert connect(cache=False).config.api_base == "http://127.0.0.1:9/v1"
    other = connect("openai/gpt-4o-mini", cache=False, env=False)
    assert other.config.api_base is None and other.config.model == "openai/gpt-4o-mini"


def test_every_failed_attempt_is_retried_reported_and_counted(server: OpenAIServer) -> None:
    server.inject(rate_limit(None), server_error(), reset(), truncated(), garbage(), hang(3))
    client = make_client(server.base_url, num_retries=6, backoff_s=0.01, timeout_s=0.5)
    reasons: list[str] = []
    assert complete(client, on_failed_attempt=reasons.append).text == "four"
    assert server.request_count == 7 and server.pending_faults == 0
    assert len(reasons) == 6
    assert all(reason.startswith(f"model openai/test at {server.base_url}: ") for reason in reasons)
    assert all("\n" not in reason and KEY not in reason for reason in reasons)
    assert "RateLimitError" in reasons[0] and "Timeout" in reasons[5]
    # Every request is a call (its tokens counted) or a failed attempt; nothing is lost or counted twice.
    assert (client.usage.calls, client.usage.failed_attempts) == (1, 6)
    assert client.usage.prompt_tokens == server.answered["prompt_tokens"] == 8


def test_a_call_that_keeps_failing_reports_each_attempt_then_raises(server: OpenAIServer) -> None:
    server.inject(server_error(), reset(), server_error())
    client = make_client(server.base_url, num_retries=2, backoff_s=0.01)
    reasons: list[str] = []
    with pytest.raises(LMError) as caught:
        complete(client, on_failed_attempt=reasons.append)
    assert len(reasons) == 3 and str(caught.value) == reasons[-1]
    assert (client.usage.calls, client.usage.failed_attempts, client.pending) == (0, 3, 0)


def test_a_retry_waits_as_long_as_retry_after_says_else_backs_off(server: OpenAIServer) -> None:
    server.inject(rate_limit(1))
    client = make_client(server.base_url, num_retries=1, backoff_s=4)
    started = time.monotonic()
    complete(client)
    assert 1 <= time.monotonic() - started < 4  # the server's Retry-After, not the backoff

    server.inject(rate_limit(None))
    client = make_client(server.base_url, num_retries=1, backoff_s=1.5)
    started = time.monotonic()
    complete(client)
    assert time.monotonic() - started >= 1.5  # no Retry-After: the backoff
    assert server.request_count == 4


def test_a_cancelled_call_runs_to_its_end_and_is_counted() -> None:
    with OpenAIServer(reply=lambda request: "four", latency_s=0.5) as server:
        client = make_client(server.base_url)

        async def cancel_in_flight() -> None:
            call = asyncio.create_task(client.complete(MESSAGES))
            while server.request_count == 0:
                await asyncio.sleep(0.01)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            asyncio.run(cancel_in_flight())
            gc.collect()
        assert [w for w in caught if issubclass(w.category, RuntimeWarning)] == []
        # The server answered, so the call is counted: a budget sees what was really spent.
        assert server.answered["completions"] == 1
        assert (client.usage.calls, client.usage.prompt_tokens, client.pending) == (1, 8, 0)


@pytest.mark.parametrize(
    ("model", "sends_seed"),
    [("anthropic/claude-3-5-haiku-latest", False), ("openai/gpt-4o-mini", True), ("ollama/llama3", True)],
)
def test_the_seed_is_sent_only_to_models_that_take_one(model: str, sends_seed: bool) -> None:
    lm = ScriptedLM(["hello"])
    client = ModelClient(ModelConfig(model, seed=7), lm=lm)
    asyncio.run(client.complete([{"role": "user", "content": "hi"}]))
    assert ("seed" in lm.requests[0]) is sends_seed
    if sends_seed:
        assert lm.requests[0]["seed"] == 7
