"""OpenAIServer: real LiteLLM and DSPy clients against the loopback server, faults included."""

import contextlib
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
import warnings
from http import client as http_client
from typing import Any

# LiteLLM fetches its model cost map at import unless told not to; tests must not touch the net.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import dspy  # noqa: E402
import litellm  # noqa: E402
import pytest  # noqa: E402

from ann.testing import (  # noqa: E402
    Fault,
    OpenAIServer,
    empty_content,
    garbage,
    hang,
    random_faults,
    rate_limit,
    reset,
    server_error,
    truncated,
)

MESSAGES = [{"role": "user", "content": "what is two plus two"}]


def complete(server: OpenAIServer, **kwargs: Any) -> Any:
    """One litellm call with its retries off, so each call is exactly one HTTP request."""
    kwargs.setdefault("messages", MESSAGES)
    kwargs.setdefault("num_retries", 0)
    return litellm.completion(model="openai/test", api_base=server.base_url, api_key="sk-test", **kwargs)


def http(server: OpenAIServer, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], bytes]:
    """A raw HTTP exchange, for details a client library hides (headers, error bodies)."""
    data = None if body is None else json.dumps(body).encode()
    url = server.base_url.removesuffix("/v1") + path
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def server():
    with OpenAIServer(reply=lambda request: "four") as server:
        yield server


def test_litellm_gets_the_reply_and_word_count_usage(server: OpenAIServer) -> None:
    response = complete(server)
    assert response.choices[0].message.content == "four"
    assert response.choices[0].finish_reason == "stop"
    assert response.model.endswith("test")
    assert response.usage.prompt_tokens == 5
    assert response.usage.completion_tokens == 1
    assert response.usage.total_tokens == 6
    assert server.request_count == 1


def test_default_reply_echoes_the_last_message() -> None:
    with OpenAIServer() as server:
        response = complete(server)
    assert response.choices[0].message.content == "echo: what is two plus two"


def test_n_calls_reply_once_per_choice() -> None:
    counter = iter(range(100))
    with OpenAIServer(reply=lambda request: f"answer {next(counter)}") as server:
        response = complete(server, n=3)
    assert [choice.message.content for choice in response.choices] == [
        "answer 0",
        "answer 1",
        "answer 2",
    ]
    assert response.usage.completion_tokens == 6


def test_reply_sees_the_request_and_it_is_recorded(server: OpenAIServer) -> None:
    seen: list[dict[str, Any]] = []
    server.reply = lambda request: seen.append(request) or "ok"
    response_format = {"type": "json_object"}
    complete(server, temperature=0.25, response_format=response_format)
    (recorded,) = server.requests
    assert recorded == seen[0]
    assert recorded["model"] == "test"
    assert recorded["messages"] == MESSAGES
    assert recorded["temperature"] == 0.25
    assert recorded["response_format"] == response_format


def test_rate_limit_raises_rate_limit_error_with_retry_after(server: OpenAIServer) -> None:
    server.inject(rate_limit(retry_after_s=2))
    with pytest.raises(litellm.RateLimitError) as caught:
        complete(server)
    assert caught.value.status_code == 429
    server.inject(rate_limit(retry_after_s=0.25))
    status, headers, body = http(server, "POST", "/v1/chat/completions", {"model": "test", "messages": MESSAGES})
    assert status == 429
    assert headers["Retry-After"] == "1"
    assert headers["retry-after-ms"] == "250"
    assert json.loads(body)["error"]["code"] == "rate_limit_exceeded"


def test_server_error_raises_internal_server_error(server: OpenAIServer) -> None:
    server.inject(server_error())
    with pytest.raises(litellm.InternalServerError) as caught:
        complete(server)
    assert caught.value.status_code == 500


def test_garbage_body_raises_internal_server_error(server: OpenAIServer) -> None:
    # LiteLLM reports an unparseable 200 as a 500 InternalServerError, so retry logic that retries
    # 500s retries garbage too. Pinned here so a LiteLLM upgrade that changes it is noticed.
    server.inject(garbage())
    with pytest.raises(litellm.InternalServerError):
        complete(server)


def test_hang_trips_the_client_timeout(server: OpenAIServer) -> None:
    server.inject(hang(5))
    started = time.monotonic()
    with pytest.raises(litellm.Timeout):
        complete(server, timeout=0.5)
    assert time.monotonic() - started < 3


def test_empty_content_is_a_valid_completion(server: OpenAIServer) -> None:
    server.inject(empty_content())
    response = complete(server)
    assert response.choices[0].message.content == ""
    assert response.usage.completion_tokens == 0


def test_faults_are_consumed_in_order_then_replies_resume(server: OpenAIServer) -> None:
    server.inject(server_error(), rate_limit(0), empty_content())
    assert server.pending_faults == 3
    with pytest.raises(litellm.InternalServerError):
        complete(server)
    with pytest.raises(litellm.RateLimitError):
        complete(server)
    assert complete(server).choices[0].message.content == ""
    assert complete(server).choices[0].message.content == "four"
    assert server.pending_faults == 0
    assert server.request_count == 4


def test_litellm_retries_by_itself_unless_told_not_to(server: OpenAIServer) -> None:
    # Without num_retries, the OpenAI SDK under LiteLLM retries a 429 twice (honouring
    # retry-after-ms), so a single fault is invisible to the caller.
    server.inject(rate_limit(0.05))
    response = litellm.completion(model="openai/test", api_base=server.base_url, api_key="sk-test", messages=MESSAGES)
    assert response.choices[0].message.content == "four"
    assert server.request_count == 2


def test_concurrent_requests_overlap() -> None:
    with OpenAIServer(reply=lambda request: "ok", latency_s=0.3) as server:
        results: list[str] = []
        threads = [
            threading.Thread(target=lambda: results.append(complete(server).choices[0].message.content))
            for _ in range(8)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    assert results == ["ok"] * 8
    assert server.request_count == 8
    assert server.max_in_flight > 1
    assert elapsed < 8 * 0.3


def test_dspy_lm_calls_the_server(server: OpenAIServer) -> None:
    lm = dspy.LM("openai/test", api_base=server.base_url, api_key="sk-test", cache=False)
    with warnings.catch_warnings():
        # DSPy 3.4 deprecates messages= in favour of its lm15 Request objects.
        warnings.simplefilter("ignore", DeprecationWarning)
        outputs = lm(messages=[{"role": "user", "content": "hi"}])
    assert outputs == ["four"]
    assert server.requests[-1]["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("engine", ["auto", "litellm"])
def test_dspy_predict_parses_a_reply_from_the_server(engine: str) -> None:
    reply = "[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]"
    with OpenAIServer(reply=lambda request: reply) as server:
        lm = dspy.LM("openai/test", api_base=server.base_url, api_key="sk-test", cache=False, engine=engine)
        with dspy.context(lm=lm):
            prediction = dspy.Predict("question -> answer")(question="2+2?")
    assert prediction.answer == "4"
    assert server.request_count == 1
    assert "2+2?" in server.requests[0]["messages"][-1]["content"]


def test_models_lists_the_configured_ids() -> None:
    with OpenAIServer(models=("test", "other")) as server:
        status, _, body = http(server, "GET", "/v1/models")
    assert status == 200
    assert [model["id"] for model in json.loads(body)["data"]] == ["test", "other"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/v1/nope", None, 404),
        ("POST", "/v1/completions", {"model": "test"}, 404),
        (
            "POST",
            "/v1/chat/completions",
            {"model": "test", "messages": MESSAGES, "stream": True},
            400,
        ),
        ("POST", "/v1/chat/completions", {"model": "test", "messages": []}, 400),
        ("POST", "/v1/chat/completions", {"messages": MESSAGES}, 400),
        ("POST", "/v1/chat/completions", {"model": "test", "messages": MESSAGES, "n": 0}, 400),
    ],
)
def test_bad_requests_get_openai_error_json(
    server: OpenAIServer, method: str, path: str, body: Any, status: int
) -> None:
    server.inject(server_error())
    got, headers, raw = http(server, method, path, body)
    assert got == status
    assert headers["Content-Type"] == "application/json"
    assert set(json.loads(raw)["error"]) >= {"message", "type", "code"}
    assert server.pending_faults == 1  # rejected requests leave faults for the next good one


def test_reply_that_raises_becomes_a_500_naming_it() -> None:
    def broken(request: dict[str, Any]) -> str:
        raise KeyError("oops")

    with OpenAIServer(reply=broken) as server:
        status, _, body = http(server, "POST", "/v1/chat/completions", {"model": "test", "messages": MESSAGES})
    assert status == 500
    assert "KeyError" in json.loads(body)["error"]["message"]


def test_close_is_fast_during_a_hang_and_frees_the_port() -> None:
    def stuck_client() -> None:
        with contextlib.suppress(OSError):  # the server drops the hanging request on close
            http(server, "POST", "/v1/chat/completions", {"model": "test", "messages": MESSAGES})

    server = OpenAIServer()
    server.inject(hang(30))
    client = threading.Thread(target=stuck_client, daemon=True)
    client.start()
    while server.request_count == 0:
        time.sleep(0.01)
    started = time.monotonic()
    server.close()
    server.close()
    assert time.monotonic() - started < 1
    client.join(timeout=1)
    assert not client.is_alive()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
        pass


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: OpenAIServer(latency_s=-1), ValueError),
        (lambda: OpenAIServer(reply="four"), TypeError),
        (lambda: OpenAIServer(models=()), ValueError),
        (lambda: rate_limit(-1), ValueError),
        (lambda: hang("5"), ValueError),
        (lambda: OpenAIServer(fault_policy=0.3), TypeError),
        (lambda: random_faults(1.5), ValueError),
        (lambda: random_faults(0.3, faults=[]), ValueError),
        (lambda: random_faults(0.3, faults=["reset"]), TypeError),
    ],
)
def test_bad_arguments_are_refused(make: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        make()


def test_inject_refuses_non_faults(server: OpenAIServer) -> None:
    with pytest.raises(TypeError):
        server.inject("rate_limit")  # type: ignore[arg-type]
    assert isinstance(hang(1), Fault)


CHAT = {"model": "test", "messages": MESSAGES}


def test_rate_limit_without_retry_after_sends_no_such_header(server: OpenAIServer) -> None:
    server.inject(rate_limit(None))
    status, headers, _ = http(server, "POST", "/v1/chat/completions", CHAT)
    assert status == 429
    assert not {"retry-after", "retry-after-ms"} & {name.lower() for name in headers}


def test_reset_drops_the_connection_without_a_reply(server: OpenAIServer) -> None:
    server.inject(reset())
    with pytest.raises((ConnectionResetError, urllib.error.URLError, http_client.RemoteDisconnected)):
        http(server, "POST", "/v1/chat/completions", CHAT)
    server.inject(reset())
    with pytest.raises(litellm.InternalServerError, match="Connection error"):  # LiteLLM's name for it
        complete(server)
    assert complete(server).choices[0].message.content == "four"


def test_truncated_sends_half_a_completion_as_json(server: OpenAIServer) -> None:
    server.inject(truncated())
    status, headers, body = http(server, "POST", "/v1/chat/completions", CHAT)
    assert status == 200 and int(headers["Content-Length"]) == len(body)
    assert body.startswith(b'{"id": "chatcmpl-ann')
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_random_faults_depend_only_on_seed_body_and_occurrence() -> None:
    policy = random_faults(0.3, seed=7)
    bodies = [{"model": "test", "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(2000)]
    first = [policy(body, 0) for body in bodies]
    assert [policy(body, 0) for body in reversed(bodies)] == first[::-1]  # arrival order does not matter
    assert [random_faults(0.3, seed=7)(body, 0) for body in bodies] == first
    assert [random_faults(0.3, seed=8)(body, 0) for body in bodies] != first
    assert [policy(body, 1) for body in bodies] != first  # a retry draws afresh
    assert 0.27 < sum(f is not None for f in first) / len(first) < 0.33
    kinds = {f.kind for f in first if f is not None}
    assert kinds == {"rate_limit", "server_error", "reset", "hang", "truncated", "garbage"}
    assert {f.seconds for f in first if f is not None and f.kind == "rate_limit"} == {1.0, None}


def test_a_fault_policy_decides_each_request_and_the_server_tallies_it() -> None:
    def policy(body: dict[str, Any], occurrence: int) -> Fault | None:
        return server_error() if occurrence < 2 else None  # each distinct request fails twice, then passes

    with OpenAIServer(reply=lambda request: "four", fault_policy=policy) as server:
        server.inject(garbage())  # a queued fault comes first, and counts as an occurrence
        statuses = [http(server, "POST", "/v1/chat/completions", CHAT)[0] for _ in range(4)]
        assert statuses == [200, 500, 200, 200]
        assert server.faults_served == {"garbage": 1, "server_error": 1}
        # Only the completions sent in full count as answered, with their word-count tokens.
        assert server.answered == {"completions": 2, "prompt_tokens": 10, "completion_tokens": 2}
