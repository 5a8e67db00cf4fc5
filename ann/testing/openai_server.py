"""OpenAIServer: a loopback HTTP server that speaks the OpenAI chat-completions API.

Integration tests and benchmarks need the real client path (DSPy -> LiteLLM -> OpenAI SDK -> HTTP)
without the internet. This server answers ``POST /v1/chat/completions``, ``POST /v1/embeddings``
(letter-count vectors: texts with the same letters embed alike) and ``GET /v1/models`` on
127.0.0.1, records every request body, simulates model latency, and replays faults (429 with or
without ``Retry-After``, 500, connection resets, hangs, truncated or non-JSON bodies, empty replies)
so retry and timeout logic can be tested for real. Faults are queued one by one (``inject``) or
drawn for a share of all requests by a seeded policy (``random_faults``), reproducibly.

It uses only the standard library so it works wherever the tests run. Each connection is served on
its own daemon thread, so concurrent clients overlap and ``max_in_flight`` shows how many calls a
client really runs at once.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import random
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = [
    "Fault",
    "FaultPolicy",
    "OpenAIServer",
    "empty_content",
    "garbage",
    "hang",
    "letter_vector",
    "random_faults",
    "rate_limit",
    "reset",
    "server_error",
    "truncated",
]

Reply = Callable[[dict[str, Any]], str]
FaultKind = Literal["rate_limit", "server_error", "hang", "garbage", "empty_content", "reset", "truncated"]

# Returned with HTTP 200 by a `garbage()` fault. It claims to be JSON (as a misbehaving proxy might)
# so the client really tries, and fails, to parse it.
GARBAGE_BODY = b"<html><body>502 Bad Gateway</body></html> {not json"


@dataclass(frozen=True)
class Fault:
    """One injected failure, consumed by one chat request. Build it with the functions below.

    Args:
        kind: Which failure to produce.
        seconds: ``Retry-After`` for ``rate_limit`` (None: no such header), the stall for ``hang``;
            unused otherwise.
    """

    kind: FaultKind
    seconds: float | None = 0.0


# Called with a chat request's body and how many earlier requests had the very same body (0 for the
# first, 1 for its first retry, ...); returns the fault to answer it with, or None to reply normally.
FaultPolicy = Callable[[dict[str, Any], int], "Fault | None"]


def _check_seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def rate_limit(retry_after_s: float | None = 1) -> Fault:
    """HTTP 429 with ``Retry-After`` (whole seconds, rounded up) and ``retry-after-ms`` headers.

    The OpenAI SDK reads ``retry-after-ms`` first, so a sub-second value keeps retry tests fast.
    With ``retry_after_s=None`` neither header is sent, so the client picks its own wait.
    """
    if retry_after_s is None:
        return Fault("rate_limit", None)
    return Fault("rate_limit", _check_seconds("retry_after_s", retry_after_s))


def server_error() -> Fault:
    """HTTP 500 with an OpenAI-style error body."""
    return Fault("server_error")


def hang(seconds: float) -> Fault:
    """Stall for ``seconds`` before replying normally, so a client with a shorter timeout gives up."""
    return Fault("hang", _check_seconds("seconds", seconds))


def garbage() -> Fault:
    """HTTP 200 whose body, though labelled ``application/json``, is not JSON."""
    return Fault("garbage")


def empty_content() -> Fault:
    """A well-formed completion whose every choice has content ``""``."""
    return Fault("empty_content")


def reset() -> Fault:
    """The connection is reset (TCP RST) without a reply, as by a crashing proxy."""
    return Fault("reset")


def truncated() -> Fault:
    """HTTP 200 whose completion JSON is cut off halfway (its ``Content-Length`` matches the cut body)."""
    return Fault("truncated")


def random_faults(rate: float, *, seed: int = 0, faults: Sequence[Fault] | None = None) -> FaultPolicy:
    """A policy that answers about ``rate`` of all chat requests with one of ``faults``, reproducibly.

    Whether a request fails, and how, depends only on the seed, the request body and how many times
    that same body came before (so a retry draws afresh) — not on arrival order, so concurrent runs
    see the same faults every time.

    Args:
        rate: The share of requests that fail, in [0, 1].
        seed: Another seed, another pattern of faults.
        faults: The faults to draw from, evenly (default: 429 with and without ``Retry-After``, 500,
            reset, a 3 s hang, truncated JSON and garbage).

    Raises:
        ValueError: ``rate`` is outside [0, 1] or ``faults`` is empty.
        TypeError: An element of ``faults`` is not a ``Fault``.
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(f"rate must be a number in [0, 1], got {rate!r}")
    chosen = tuple(faults) if faults is not None else (
        rate_limit(1), rate_limit(None), server_error(), reset(), hang(3), truncated(), garbage(),
    )  # fmt: skip
    if not chosen:
        raise ValueError("faults must name at least one Fault")
    for fault in chosen:
        if not isinstance(fault, Fault):
            raise TypeError(f"faults must be Fault objects (e.g. rate_limit()), got {fault!r}")

    def policy(body: dict[str, Any], occurrence: int) -> Fault | None:
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
        draw = random.Random(f"{seed}:{digest}:{occurrence}")
        return draw.choice(chosen) if draw.random() < rate else None

    return policy


def _text_of(content: Any) -> str:
    """The text of a message's content, which is a string or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _count_tokens(text: str) -> int:
    # Whitespace words, not a real tokenizer: deterministic and good enough to check accounting.
    return len(text.split())


def echo_reply(request: dict[str, Any]) -> str:
    """The default reply: ``"echo: "`` followed by the last message's text."""
    messages = request.get("messages") or [{}]
    return "echo: " + _text_of(messages[-1].get("content"))


class _RequestError(Exception):
    """A client error, answered with an OpenAI-style error body and the given HTTP status."""

    def __init__(self, status: int, message: str, *, kind: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.code = code


class OpenAIServer:
    """A threaded OpenAI-compatible server on 127.0.0.1, started on construction.

    Args:
        reply: Called with each chat request body (a copy; once per choice when ``n`` > 1) and
            returns the assistant text. Defaults to echoing the last message.
        latency_s: Seconds every normally answered chat request waits before replying, to stand in
            for model time. Requests wait concurrently.
        models: Model ids listed by ``GET /v1/models``. Chat requests accept any model.
        fault_policy: Picks a fault (or None) for each chat request that no queued fault claims,
            e.g. ``random_faults(0.3, seed=1)``.

    Raises:
        TypeError: ``reply`` or ``fault_policy`` is not callable.
        ValueError: ``latency_s`` is negative, or ``models`` is empty.

    Example:
        >>> with OpenAIServer(reply=lambda request: "42") as server:
        ...     server.inject(rate_limit(0.1))
        ...     # point litellm at server.base_url with model "openai/test"
    """

    def __init__(
        self,
        reply: Reply | None = None,
        *,
        latency_s: float = 0.0,
        models: Sequence[str] = ("test",),
        fault_policy: FaultPolicy | None = None,
    ) -> None:
        if reply is not None and not callable(reply):
            raise TypeError(f"reply must be a callable(request: dict) -> str, got {reply!r}")
        if fault_policy is not None and not callable(fault_policy):
            raise TypeError(f"fault_policy must be a callable(request: dict, occurrence: int), got {fault_policy!r}")
        if isinstance(models, str) or not models:
            raise ValueError(f"models must be a non-empty sequence of ids, got {models!r}")
        self.reply: Reply = reply or echo_reply
        self.latency_s = _check_seconds("latency_s", latency_s)
        self.models = tuple(models)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._faults: deque[Fault] = deque()
        self.fault_policy = fault_policy
        self._seen: Counter[str] = Counter()
        self._faults_served: Counter[str] = Counter()
        self._answered = {"completions": 0, "prompt_tokens": 0, "completion_tokens": 0}
        self._requests: list[dict[str, Any]] = []
        self._authorizations: list[str | None] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._completion_ids = 0
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            # A short poll interval makes close() return in tens of milliseconds.
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"OpenAIServer:{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """The ``api_base`` to give a client, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of the chat request bodies received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def authorizations(self) -> list[str | None]:
        """The ``Authorization`` header of each request in ``requests`` (None where absent), in order."""
        with self._lock:
            return list(self._authorizations)

    @property
    def request_count(self) -> int:
        """How many chat requests have arrived (including ones answered with a fault or a 400)."""
        with self._lock:
            return len(self._requests)

    @property
    def max_in_flight(self) -> int:
        """The most chat requests that were being served at the same moment."""
        with self._lock:
            return self._max_in_flight

    @property
    def faults_served(self) -> dict[str, int]:
        """How many chat requests were answered with each kind of fault (queued or drawn)."""
        with self._lock:
            return dict(self._faults_served)

    @property
    def answered(self) -> dict[str, int]:
        """Completions sent in full (``empty_content`` included, a hang's late reply not) and their tokens.

        What a client that counts correctly reports as its calls and tokens, provided its timeout is
        shorter than any hang.
        """
        with self._lock:
            return dict(self._answered)

    @property
    def pending_faults(self) -> int:
        """How many injected faults have not been consumed yet."""
        with self._lock:
            return len(self._faults)

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each following chat request consumes one, in order, then replies resume.

        Requests rejected with a 400 (malformed, or ``stream: true``) do not consume a fault.

        Raises:
            TypeError: An argument is not a ``Fault``.
        """
        for fault in faults:
            if not isinstance(fault, Fault):
                raise TypeError(f"inject() takes Fault objects (e.g. rate_limit()), got {fault!r}")
        with self._lock:
            self._faults.extend(faults)

    def close(self) -> None:
        """Stop serving and free the port. Requests still waiting are cut short. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> OpenAIServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The methods below run on handler threads.

    def _begin(self, body: dict[str, Any], authorization: str | None = None) -> None:
        with self._lock:
            self._requests.append(copy.deepcopy(body))
            self._authorizations.append(authorization)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _next_fault(self, body: dict[str, Any]) -> Fault | None:
        with self._lock:
            key = json.dumps(body, sort_keys=True, default=str)
            occurrence = self._seen[key]
            self._seen[key] += 1
            if self._faults:
                fault = self._faults.popleft()
            elif self.fault_policy is not None:
                fault = self.fault_policy(copy.deepcopy(body), occurrence)
            else:
                fault = None
            if fault is not None:
                self._faults_served[fault.kind] += 1
            return fault

    def _count_answered(self, completion: dict[str, Any]) -> None:
        with self._lock:
            self._answered["completions"] += 1
            self._answered["prompt_tokens"] += completion["usage"]["prompt_tokens"]
            self._answered["completion_tokens"] += completion["usage"]["completion_tokens"]

    def _wait(self, seconds: float) -> bool:
        """Sleep, waking early if the server closes; True if the request should still be answered."""
        if seconds > 0:
            self._stopping.wait(seconds)
        return not self._stopping.is_set()

    def _completion(self, body: dict[str, Any], *, empty: bool) -> dict[str, Any]:
        """Build a ``chat.completion`` object for a validated request."""
        n = body.get("n") or 1
        contents = ["" if empty else self._call_reply(body) for _ in range(n)]
        prompt_tokens = sum(_count_tokens(_text_of(message.get("content"))) for message in body["messages"])
        completion_tokens = sum(_count_tokens(content) for content in contents)
        with self._lock:
            self._completion_ids += 1
            completion_id = f"chatcmpl-ann{self._completion_ids:06d}"
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": index,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
                for index, content in enumerate(contents)
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _call_reply(self, body: dict[str, Any]) -> str:
        try:
            text = self.reply(copy.deepcopy(body))
        except Exception as exc:
            # Surface a broken test reply to the client as a 500 that names it, not a dropped socket.
            raise _RequestError(500, f"reply function raised {exc!r}", kind="server_error") from exc
        if not isinstance(text, str):
            raise _RequestError(500, f"reply function must return str, got {text!r}", kind="server_error")
        return text


def letter_vector(text: str) -> list[float]:
    """The test server's embedding: how often each letter a-z occurs (deterministic, comparable)."""
    lowered = text.lower()
    return [float(lowered.count(letter)) for letter in "abcdefghijklmnopqrstuvwxyz"]


def _validate_chat(body: Any) -> dict[str, Any]:
    """Check the fields this server relies on, answering 400 as OpenAI would."""
    if not isinstance(body, dict):
        raise _RequestError(400, "request body must be a JSON object", kind="invalid_request_error")
    if not isinstance(body.get("model"), str):
        raise _RequestError(400, "'model' is required", kind="invalid_request_error")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _RequestError(400, "'messages' must be a non-empty list", kind="invalid_request_error")
    if not all(isinstance(message, dict) for message in messages):
        raise _RequestError(400, "each message must be an object", kind="invalid_request_error")
    n = body.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise _RequestError(400, f"'n' must be an integer >= 1, got {n!r}", kind="invalid_request_error")
    return body


class _Handler(BaseHTTPRequestHandler):
    """Routes one HTTP request to the owning OpenAIServer."""

    server: _HTTPServer
    # HTTP/1.0 closes each connection after its response, so no idle keep-alive thread outlives
    # close() and every request is independent.
    protocol_version = "HTTP/1.0"
    # Drop a client that connects but never finishes sending its request.
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - overrides stdlib name
        """Stay silent: tests must not write to stderr."""

    def do_GET(self) -> None:
        if urlsplit(self.path).path.rstrip("/") == "/v1/models":
            models = [
                {"id": model, "object": "model", "created": 0, "owned_by": "ann"} for model in self.server.owner.models
            ]
            self._send_json(200, {"object": "list", "data": models})
        else:
            self._send_not_found()

    def do_POST(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        if path == "/v1/chat/completions":
            self._chat()
        elif path == "/v1/embeddings":
            self._embeddings()
        else:
            self._send_not_found()

    def _chat(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            self._send_error(_RequestError(400, "request body is not valid JSON", kind="invalid_request_error"))
            return
        owner._begin(body if isinstance(body, dict) else {"_body": body}, self.headers.get("Authorization"))
        try:
            self._answer_chat(owner, body)
        except _RequestError as error:
            self._send_error(error)
        except Exception as exc:
            # A bug in this server: answer 500 with its name rather than drop the socket silently.
            self._send_error(_RequestError(500, f"test server bug: {exc!r}", kind="server_error"))
        finally:
            owner._end()

    def _embeddings(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.server.owner._begin(body, self.headers.get("Authorization"))
        try:
            texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
            data = [{"object": "embedding", "index": i, "embedding": letter_vector(t)} for i, t in enumerate(texts)]
            tokens = sum(_count_tokens(text) for text in texts)
            usage = {"prompt_tokens": tokens, "total_tokens": tokens}
            self._send_json(200, {"object": "list", "data": data, "model": body.get("model", ""), "usage": usage})
        finally:
            self.server.owner._end()

    def _answer_chat(self, owner: OpenAIServer, body: Any) -> None:
        body = _validate_chat(body)
        if body.get("stream"):
            raise _RequestError(400, "streaming is not supported by this test server", kind="invalid_request_error")
        fault = owner._next_fault(body)
        kind = fault.kind if fault else None
        if fault and kind == "rate_limit":
            headers = {}
            if fault.seconds is not None:
                headers = {
                    "Retry-After": str(math.ceil(fault.seconds)),
                    "retry-after-ms": str(round(fault.seconds * 1000)),
                }
            error = _RequestError(429, "Rate limit reached (injected)", kind="requests", code="rate_limit_exceeded")
            self._send_error(error, headers=headers)
            return
        if kind == "server_error":
            raise _RequestError(500, "The server had an error (injected)", kind="server_error")
        if kind == "garbage":
            self._send(200, GARBAGE_BODY)
            return
        if kind == "reset":
            self._reset()
            return
        stall = fault.seconds if fault and kind == "hang" else 0.0
        if not owner._wait((stall or 0.0) + owner.latency_s):
            return  # closing: drop the connection rather than answer late
        completion = owner._completion(body, empty=kind == "empty_content")
        if kind == "truncated":
            data = json.dumps(completion).encode()
            self._send(200, data[: len(data) // 2])
            return
        if kind in (None, "empty_content"):
            owner._count_answered(completion)  # before sending: a client that has it must find it counted
        self._send_json(200, completion)

    def _reset(self) -> None:
        """Close the connection with a TCP reset (linger on, zero timeout) instead of a reply."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass  # already gone

    def _send_not_found(self) -> None:
        error = _RequestError(
            404,
            f"Invalid URL ({self.command} {self.path})",
            kind="invalid_request_error",
            code="unknown_url",
        )
        self._send_error(error)

    def _send_error(self, error: _RequestError, *, headers: dict[str, str] | None = None) -> None:
        payload = {"error": {"message": str(error), "type": error.kind, "param": None, "code": error.code}}
        self._send_json(error.status, payload, headers=headers)

    def _send_json(self, status: int, payload: dict[str, Any], *, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def _send(self, status: int, data: bytes, *, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout fired during a hang); nothing to tell it


class _HTTPServer(ThreadingHTTPServer):
    """The socket server behind OpenAIServer: loopback, free port, one daemon thread per request."""

    daemon_threads = True
    # Don't join handler threads on close: a hanging request must not delay shutdown.
    block_on_close = False
    # A deep accept backlog so a burst of concurrent clients is not refused.
    request_queue_size = 128

    def __init__(self, owner: OpenAIServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay silent: the default prints a traceback to stderr; the client sees the failure."""
