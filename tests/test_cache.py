"""CallCache through ModelClient: keyed on the whole request, persisted on disk, created lazily."""

import asyncio
import itertools
import json
import pickle
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ann.cache import CallCache, request_key
from ann.errors import LMError
from ann.lm import Completion, ModelClient, ModelConfig
from ann.testing import OpenAIServer, server_error

MESSAGES = [{"role": "user", "content": "what is two plus two"}]


def make_client(server: OpenAIServer, cache: CallCache | None, **config: Any) -> ModelClient:
    config.setdefault("model", "openai/test")
    model = ModelConfig(api_base=server.base_url, api_key="sk-test", num_retries=0, timeout_s=5.0, **config)
    return ModelClient(model, cache=cache)


def complete(client: ModelClient, messages: list[dict[str, str]] = MESSAGES, **kwargs: Any) -> Completion:
    return asyncio.run(client.complete(messages, **kwargs))


@pytest.fixture
def server():
    # Every real call gets a different reply, so a cached reply is recognisable.
    counter = itertools.count(1)
    with OpenAIServer(reply=lambda request: f"reply {next(counter)}") as server:
        yield server


@pytest.fixture
def cache(tmp_path: Path):
    cache = CallCache(tmp_path / "calls")
    yield cache
    cache.close()


def test_an_identical_second_call_is_a_cache_hit(server: OpenAIServer, cache: CallCache) -> None:
    client = make_client(server, cache)
    first = complete(client)
    second = complete(client)
    assert server.request_count == 1
    assert first.cache_hit is False
    assert second.cache_hit is True
    assert second.text == first.text == "reply 1"
    assert (second.prompt_tokens, second.completion_tokens) == (first.prompt_tokens, first.completion_tokens)
    assert second.cost == 0.0
    assert client.usage.cache_hits == 1
    assert client.usage.calls == 1


@pytest.mark.parametrize(
    "change",
    [
        {"messages": [{"role": "user", "content": "what is two plus three"}]},
        {"temperature": 0.5},
        {"max_tokens": 100},
        {"response_format": {"type": "json_object"}},
        {"sample": 1},
    ],
    ids=["messages", "temperature", "max_tokens", "response_format", "sample"],
)
def test_a_changed_request_is_a_miss(server: OpenAIServer, cache: CallCache, change: dict[str, Any]) -> None:
    client = make_client(server, cache)
    complete(client)
    changed = complete(client, **change)
    assert changed.cache_hit is False
    assert changed.text == "reply 2"
    assert server.request_count == 2
    assert client.usage.cache_hits == 0
    # The changed request is now cached too, separately from the first.
    assert complete(client, **change).text == "reply 2"
    assert complete(client).text == "reply 1"
    assert server.request_count == 2


@pytest.mark.parametrize(
    "first, second",
    [({"model": "openai/a"}, {"model": "openai/b"}), ({"seed": 1}, {"seed": 2})],
    ids=["model", "seed"],
)
def test_a_changed_model_or_seed_is_a_miss(
    server: OpenAIServer, cache: CallCache, first: dict[str, Any], second: dict[str, Any]
) -> None:
    complete(make_client(server, cache, **first))
    other = complete(make_client(server, cache, **second))
    assert other.cache_hit is False
    assert server.request_count == 2


def test_no_cache_never_hits(server: OpenAIServer) -> None:
    client = make_client(server, None)
    replies = [complete(client) for _ in range(3)]
    assert [reply.text for reply in replies] == ["reply 1", "reply 2", "reply 3"]
    assert not any(reply.cache_hit for reply in replies)
    assert server.request_count == 3
    assert client.usage.cache_hits == 0
    assert client.usage.calls == 3


def test_a_failed_call_is_not_cached(server: OpenAIServer, cache: CallCache) -> None:
    server.inject(server_error())
    client = make_client(server, cache)
    with pytest.raises(LMError):
        complete(client)
    reply = complete(client)
    assert reply.cache_hit is False
    assert reply.text == "reply 1"
    assert server.request_count == 2


def test_the_cache_persists_on_disk_across_cache_objects(server: OpenAIServer, tmp_path: Path) -> None:
    directory = tmp_path / "calls"
    first_cache = CallCache(directory)
    complete(make_client(server, first_cache))
    first_cache.close()
    second_cache = CallCache(directory)
    try:
        client = make_client(server, second_cache)
        reply = complete(client)
    finally:
        second_cache.close()
    assert reply.cache_hit is True
    assert reply.text == "reply 1"
    assert server.request_count == 1
    assert client.usage.cache_hits == 1


def test_the_directory_is_created_on_first_use_not_at_construction(server: OpenAIServer, tmp_path: Path) -> None:
    directory = tmp_path / "deep" / "calls"
    cache = CallCache(directory)
    client = make_client(server, cache)
    assert not directory.exists()
    try:
        complete(client)
    finally:
        cache.close()
    assert directory.is_dir()
    assert any(directory.iterdir())


def test_request_key_is_stable_and_order_insensitive() -> None:
    a = request_key({"model": "m", "messages": MESSAGES, "temperature": 0.0})
    b = request_key({"temperature": 0.0, "messages": MESSAGES, "model": "m"})
    assert a == b
    assert a != request_key({"model": "m", "messages": MESSAGES, "temperature": 0.1})


def test_another_endpoint_with_the_same_model_string_is_a_miss(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "hi"}]
    with OpenAIServer(reply=lambda r: "from A") as a, OpenAIServer(reply=lambda r: "from B") as b:
        texts = []
        for endpoint in (a, b, a):
            config = ModelConfig("openai/x", api_base=endpoint.base_url, api_key="k", num_retries=0)
            texts.append(asyncio.run(ModelClient(config, cache=CallCache(tmp_path)).complete(messages)).text)
        assert texts == ["from A", "from B", "from A"]
        assert (a.request_count, b.request_count) == (1, 1)


def test_endpoint_id_keeps_hits_across_ports_and_empty_replies_are_not_cached(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "hi"}]
    with OpenAIServer(reply=lambda r: "same") as a, OpenAIServer(reply=lambda r: "other") as b:
        for endpoint in (a, b):
            config = ModelConfig(
                "openai/x", api_base=endpoint.base_url, api_key="k", num_retries=0, endpoint_id="gguf:m"
            )
            assert asyncio.run(ModelClient(config, cache=CallCache(tmp_path)).complete(messages)).text == "same"
        assert b.request_count == 0
    with OpenAIServer(reply=lambda r: "") as empty:
        config = ModelConfig("openai/y", api_base=empty.base_url, api_key="k", num_retries=0)
        client = ModelClient(config, cache=CallCache(tmp_path))
        asyncio.run(client.complete(messages))
        asyncio.run(client.complete(messages))
        assert empty.request_count == 2


# --- the store holds data, never code ---------------------------------------------------------


def stored_rows(directory: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(directory / "replies.sqlite3") as db:
        return db.execute("SELECT key, value FROM replies").fetchall()


def test_entries_are_plain_json_text(server: OpenAIServer, tmp_path: Path) -> None:
    cache = CallCache(tmp_path / "calls")
    complete(make_client(server, cache))
    cache.close()
    [(key, value)] = stored_rows(tmp_path / "calls")
    assert json.loads(value)["text"] == "reply 1"
    assert len(key) == 64


class Boom:
    def __reduce__(self) -> tuple[Any, ...]:
        # Unpickling this touches the file the test names: proof that it ran.
        return (exec, ("import os, pathlib; pathlib.Path(os.environ['ANN_TEST_PICKLE_TARGET']).touch()",))


@pytest.mark.parametrize(
    "tampered",
    [
        pickle.dumps(Boom()),
        b"\x80\x04garbage",
        '{"text": ["not", "a", "string"]}',
        '{"text": "hi", "prompt_tokens": "many"}',
        '{"text": "hi", "__class__": "os.system"}',
        "not json at all",
        "",
    ],
    ids=["pickle-payload", "binary", "wrong-type", "bad-tokens", "unknown-key", "not-json", "empty"],
)
def test_a_tampered_entry_is_a_miss_and_runs_nothing(
    server: OpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tampered: bytes | str
) -> None:
    target = tmp_path / "pwned"
    monkeypatch.setenv("ANN_TEST_PICKLE_TARGET", str(target))
    cache = CallCache(tmp_path / "calls")
    complete(make_client(server, cache))
    cache.close()
    [(key, _)] = stored_rows(tmp_path / "calls")
    with sqlite3.connect(tmp_path / "calls" / "replies.sqlite3") as db:
        db.execute("UPDATE replies SET value = ? WHERE key = ?", (tampered, key))
    client = make_client(server, CallCache(tmp_path / "calls"))
    again = complete(client)
    assert again.cache_hit is False
    assert again.text == "reply 2"
    assert not target.exists()


def test_a_corrupt_database_turns_the_cache_off_and_the_run_goes_on(
    server: OpenAIServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "calls"
    directory.mkdir()
    (directory / "replies.sqlite3").write_bytes(b"this is not a database" * 100)
    client = make_client(server, CallCache(directory))
    assert complete(client).text == "reply 1"
    assert complete(client).text == "reply 2"
    assert "call cache" in caplog.text and "unreadable" in caplog.text
