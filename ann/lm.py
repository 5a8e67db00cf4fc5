"""The one road to a model: dspy.LM over LiteLLM, plus ann's cache, concurrency limit and meter.

Every LLM call ann makes — agents, aggregators, judges, optimizers — goes through
``ModelClient.complete``, so caching, retries, the global concurrency limit and token/cost
accounting hold everywhere without each caller remembering them.

Retries are ann's own loop around one-attempt DSPy calls, using DSPy's judgement of which errors
are transient and the server's ``Retry-After``: DSPy's and LiteLLM's built-in retries happen out of
sight, and every failed attempt must be counted and shown in the trace.

Each call of ann's own ``dspy.LM`` runs its synchronous path (``LM.forward`` -> ``litellm.completion``)
on one of the client's worker threads, as DSPy's own parallel runs do. The async path
(``LM.aforward`` -> ``litellm.acompletion``) passes each call through the event loop's small default
thread pool three times (DSPy's request preparation, LiteLLM's request building, DSPy's pricing);
with 16 or more calls in flight those hops queue, and a batch took up to twice as long
(``benchmarks/engine.py``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

# LiteLLM fetches its model price map at import unless told to use the bundled copy; offline that
# costs seconds of retries. Set before anything imports litellm.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from ann.cache import CallCache, request_key  # noqa: E402
from ann.errors import LMError  # noqa: E402
from ann.redact import redact  # noqa: E402
from ann.trace import Usage  # noqa: E402

# dspy and litellm take seconds to import; they are imported where a model is first called (in
# ModelClient), so commands that call none (`ann show`, `ann diff`, `ann schema`) start at once.
if TYPE_CHECKING:
    import dspy
    from dspy.utils.exceptions import LMError as DspyLMError

SchemaStyle = Literal["llamacpp", "openai", "none"]
MAX_RETRY_WAIT_S = 60.0  # the longest ann waits before a retry, whatever a server's Retry-After asks


@dataclass(frozen=True)
class ModelConfig:
    """Which model to call and how.

    Args:
        model: A LiteLLM model string, e.g. ``openai/gpt-4o-mini`` or ``ollama/qwen2.5``.
        api_base: The endpoint for local or OpenAI-compatible servers.
        api_key: Never written to bundles, traces or logs.
        temperature: Default sampling temperature.
        max_tokens: Default reply length cap.
        timeout_s: Per-call timeout.
        num_retries: Retries of a call that failed transiently (429, 5xx, a reset or timed-out
            connection, an unreadable reply); other failures (400, 401, ...) are not retried.
        backoff_s: The wait before the first retry when the server sent no ``Retry-After``; it
            doubles with each retry (at most 60 s). A ``Retry-After`` is honoured up to 60 s.
        max_failures: The largest fraction of a batch's examples that may fail because a call to
            this model kept failing; one more stops the batch with ``TooManyFailures``.
        schema_style: How to ask for schema-constrained JSON: ``llamacpp`` (``json_object`` with
            a ``schema``, grammar-enforced by llama.cpp), ``openai`` (``json_schema``), or
            ``none`` (prompt-only, parsed leniently).
        label: A short human name for messages (e.g. ``embedded SmolLM2-135M``).
        seed: Sent with each request (plus the sample index) so sampling repeats where the
            backend honours it.
        endpoint_id: What identifies the server in cache keys; defaults to ``api_base``. A local
            GGUF server gets a new port each run, so it is identified by its model file instead.
    """

    model: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    temperature: float = 0.0
    max_tokens: int = 512
    timeout_s: float = 120.0
    num_retries: int = 3
    backoff_s: float = 1.0
    max_failures: float = 0.25
    schema_style: SchemaStyle = "none"
    label: str = ""
    seed: int | None = None
    endpoint_id: str | None = None

    def __post_init__(self) -> None:
        if not self.model or not isinstance(self.model, str):
            raise ValueError(f"model must be a LiteLLM model string such as 'openai/gpt-4o-mini', got {self.model!r}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")
        if self.num_retries < 0:
            raise ValueError(f"num_retries must be >= 0, got {self.num_retries}")
        if self.backoff_s < 0:
            raise ValueError(f"backoff_s must be >= 0, got {self.backoff_s}")
        if not 0 <= self.max_failures <= 1:
            raise ValueError(f"max_failures must be a fraction in [0, 1], got {self.max_failures}")

    def describe(self) -> str:
        where = f" at {redact(self.api_base)}" if self.api_base else ""
        return f"{self.label or self.model}{where}"

    def public(self) -> dict[str, Any]:
        """Settings safe to store in a bundle or report: everything but the key."""
        return {
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "schema_style": self.schema_style,
            "label": self.label,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Completion:
    """One reply and what it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    cache_hit: bool = False
    latency_s: float = 0.0
    truncated: bool = False


def json_response_format(schema: dict[str, Any], style: SchemaStyle) -> dict[str, Any] | None:
    """The ``response_format`` that makes a backend emit JSON matching ``schema``."""
    if style == "llamacpp":
        return {"type": "json_object", "schema": schema}
    if style == "openai":
        return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema, "strict": True}}
    return None


class _DropTruncationWarning(logging.Filter):
    """DSPy logs every reply cut off by max_tokens; ann records it per call in the trace instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "truncated" not in record.getMessage()


_DSPY_LM_LOG = logging.getLogger("dspy.clients.lm")


class ModelClient:
    """Calls one model through ``dspy.LM`` (LiteLLM engine), with cache, limit and accounting.

    Args:
        config: The model and its settings.
        cache: A call cache, or None to always call the model.
        concurrency: At most this many calls of this client are in flight at once.
        lm: A ready ``dspy.BaseLM`` to call instead of building ``dspy.LM`` from ``config``
            (tests pass a scripted LM here). It is called through its ``aforward``; ann's own
            ``dspy.LM`` through ``forward`` on the client's worker threads.

    Example:
        >>> client = ModelClient(ModelConfig("openai/gpt-4o-mini"), concurrency=8)
        >>> reply = await client.complete([{"role": "user", "content": "Hi"}])
    """

    def __init__(
        self,
        config: ModelConfig,
        *,
        cache: CallCache | None = None,
        concurrency: int = 4,
        lm: dspy.BaseLM | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.config = config
        self.cache = cache
        self.concurrency = concurrency
        self.usage = Usage()
        # Called before every real (uncached) call; a training run's budget raises from here.
        self.guard: Callable[[], None] | None = None
        self.pending = 0  # calls past the guard and not yet counted in usage
        self._limits: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
        if not any(isinstance(f, _DropTruncationWarning) for f in _DSPY_LM_LOG.filters):
            _DSPY_LM_LOG.addFilter(_DropTruncationWarning())
        extra: dict[str, Any] = {}
        if config.api_base:
            extra["api_base"] = config.api_base
        if config.api_key:
            extra["api_key"] = config.api_key
        self.sends_seed = _accepts_seed(config.model)
        # Worker threads for ann's own dspy.LM (see the module docstring), started as calls need them.
        self._threads: ThreadPoolExecutor | None = None
        if lm is None:
            import dspy

            lm = dspy.LM(
                config.model,
                engine="litellm",
                cache=False,
                num_retries=0,  # ann retries (see _send), so that each failed attempt is seen and counted
                temperature=config.temperature,
                max_tokens=config.max_tokens,
                timeout=config.timeout_s,
                **extra,
            )
            self._threads = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ann-lm")
        self.dspy_lm = lm

    def _limit(self) -> asyncio.Semaphore:
        # A semaphore belongs to one event loop; sync callers start a fresh loop per run.
        loop = asyncio.get_running_loop()
        if loop not in self._limits:
            self._limits = {known: sem for known, sem in self._limits.items() if not known.is_closed()}
            self._limits[loop] = asyncio.Semaphore(self.concurrency)
        return self._limits[loop]

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        sample: int = 0,
        response_format: dict[str, Any] | None = None,
        on_failed_attempt: Callable[[str], None] | None = None,
    ) -> Completion:
        """Send one chat request (or answer it from the cache), retrying transient failures.

        A call in flight is never abandoned: if the caller is cancelled, the request still runs to
        its end (and is counted) before the cancellation goes on.

        Args:
            messages: OpenAI-style chat messages.
            temperature: Overrides the config's temperature for this call.
            max_tokens: Overrides the config's reply length cap for this call.
            sample: The sample index; distinct indexes are distinct cache entries.
            response_format: Passed to the backend for constrained output.
            on_failed_attempt: Called with a one-line reason for each attempt that failed, whether
                it was retried or was the last.

        Returns:
            The reply text with its token counts, cost, latency and whether it was cached.

        Raises:
            LMError: The model could not be reached or kept failing after retries.
        """
        settings: dict[str, Any] = {
            "temperature": self.config.temperature if temperature is None else temperature,
            "max_tokens": max_tokens or self.config.max_tokens,
        }
        if response_format is not None:
            settings["response_format"] = response_format
        if self.config.seed is not None and self.sends_seed:
            settings["seed"] = self.config.seed + sample
        endpoint = self.config.endpoint_id or self.config.api_base
        key = request_key(
            {"model": self.config.model, "endpoint": endpoint, "messages": messages, "sample": sample, **settings}
        )
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            completion = Completion(
                text=hit["text"],
                prompt_tokens=hit.get("prompt_tokens", 0),
                completion_tokens=hit.get("completion_tokens", 0),
                cost=0.0,
                cache_hit=True,
            )
            self.usage.add(Usage(cache_hits=1))
            return completion
        if self.guard is not None:
            self.guard()
        self.pending += 1
        try:
            async with self._limit():
                completion = await self._send(messages, settings, on_failed_attempt)
        finally:
            self.pending -= 1
        # An empty reply may be a transient fault; asking again later is better than replaying it.
        if self.cache is not None and completion.text.strip():
            self.cache.put(
                key,
                {
                    "text": completion.text,
                    "prompt_tokens": completion.prompt_tokens,
                    "completion_tokens": completion.completion_tokens,
                },
            )
        return completion

    async def _send(
        self,
        messages: list[dict[str, str]],
        settings: dict[str, Any],
        on_failed_attempt: Callable[[str], None] | None,
    ) -> Completion:
        """Attempt the call up to ``1 + num_retries`` times; count every attempt in ``usage``.

        The completion's latency is the whole call's, retries and their waits included.
        """
        started = time.perf_counter()
        attempt = 0
        while True:
            call = self._start(messages, settings)
            cancelled = await _settle(call)
            if call.cancelled():
                raise asyncio.CancelledError
            error = call.exception()
            if error is None:
                completion = _completion_from(call.result(), time.perf_counter() - started)
                self.usage.add(Usage(calls=1, prompt_tokens=completion.prompt_tokens,
                                     completion_tokens=completion.completion_tokens, cost=completion.cost))  # fmt: skip
                if cancelled:
                    raise asyncio.CancelledError
                return completion
            from dspy.utils.exceptions import LMError as DspyLMError
            from dspy.utils.exceptions import is_retryable_lm_error

            if not isinstance(error, DspyLMError):
                raise error
            self.usage.add(Usage(failed_attempts=1))
            # A provider's error may quote the key it was sent (a 401); the reason goes into traces.
            reason = redact(f"model {self.config.describe()}: {_first_line(error)}", [self.config.api_key])
            if on_failed_attempt is not None:
                on_failed_attempt(reason)
            if cancelled:
                raise asyncio.CancelledError
            if attempt == self.config.num_retries or not is_retryable_lm_error(error):
                raise LMError(reason) from error
            await asyncio.sleep(self._retry_wait(error, attempt))
            attempt += 1

    def _start(self, messages: list[dict[str, str]], settings: dict[str, Any]) -> asyncio.Future[Any]:
        """One attempt, started: on a worker thread for ann's own dspy.LM, else the LM's ``aforward``."""
        if self._threads is None:
            return asyncio.ensure_future(self.dspy_lm.aforward(messages=messages, **settings))
        # The worker sees the caller's context, as asyncio.to_thread would (dspy.context settings).
        send = functools.partial(contextvars.copy_context().run, self.dspy_lm.forward, messages=messages, **settings)
        return asyncio.get_running_loop().run_in_executor(self._threads, send)

    def _retry_wait(self, error: DspyLMError, attempt: int) -> float:
        """The server's ``Retry-After`` if it sent one, else exponential backoff; at most 60 s."""
        hint = getattr(error, "retry_after", None)
        if isinstance(hint, int | float) and hint >= 0:
            return min(float(hint), MAX_RETRY_WAIT_S)
        return min(self.config.backoff_s * 2**attempt, MAX_RETRY_WAIT_S)


async def _settle(call: asyncio.Future[Any]) -> bool:
    """Wait until ``call`` is done even if the waiter is cancelled; True if it was.

    LiteLLM starts each request in a worker thread that hands back a coroutine; cancelling the await
    in between drops that coroutine unawaited (a RuntimeWarning at exit) and loses the reply of a
    request the server may already be serving (and a call on a worker thread cannot be stopped at
    all). So a cancelled caller lets its call finish first.
    """
    cancelled = False
    while not call.done():
        try:
            await asyncio.wait([call])
        except asyncio.CancelledError:
            cancelled = True
    return cancelled


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _completion_from(response: Any, latency: float) -> Completion:
    """Read text, usage and cost from a LiteLLM ``ModelResponse``."""
    choices = _get(response, "choices") or []
    if not choices:
        raise LMError("model returned no choices")
    message = _get(choices[0], "message") or {}
    text = _get(message, "content") or ""
    truncated = _get(choices[0], "finish_reason") == "length"
    usage = _get(response, "usage") or {}
    hidden = getattr(response, "_hidden_params", None) or {}
    cost = hidden.get("response_cost") if isinstance(hidden, dict) else None
    return Completion(
        text=text,
        prompt_tokens=int(_get(usage, "prompt_tokens") or 0),
        completion_tokens=int(_get(usage, "completion_tokens") or 0),
        cost=float(cost or 0.0),
        latency_s=latency,
        truncated=truncated,
    )


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _accepts_seed(model: str) -> bool:
    """Whether LiteLLM lets `model` take a sampling seed; Anthropic's API, for one, refuses it.

    Unknown providers get the seed (LiteLLM then reports any refusal as a call error).
    """
    import litellm

    provider, _, name = model.partition("/")
    try:
        supported = litellm.get_supported_openai_params(model=name or provider, custom_llm_provider=provider or None)
    except Exception:  # noqa: BLE001 - an unknown provider is not our error to raise here
        return True
    return supported is None or "seed" in supported
