"""ScriptedLM: a deterministic stand-in model for unit tests (never a product default).

It answers each request from a script — a function of the messages, or a list of replies used
in order — and records every request, so tests can check exactly what ann sent.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Any

import dspy

from ann.lm import ModelClient, ModelConfig

Reply = Callable[[list[dict[str, str]]], str]


class ScriptedLM(dspy.BaseLM):
    """A dspy LM whose replies come from a script.

    Args:
        script: ``fn(messages) -> str``, or a list of replies consumed in order (the last one
            repeats when the list runs out).
        latency_s: Async calls wait this long, so tests can see what overlaps.
    """

    def __init__(self, script: Reply | Sequence[str], *, latency_s: float = 0.0) -> None:
        super().__init__(model="scripted/test", cache=False, num_retries=0)
        self._script = script
        self.latency_s = latency_s
        self.in_flight = 0
        self.max_in_flight = 0
        self._next = 0
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []

    def _reply(self, messages: list[dict[str, str]], kwargs: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append({"messages": messages, **kwargs})
            if callable(self._script):
                text = self._script(messages)
            else:
                replies = list(self._script)
                text = replies[min(self._next, len(replies) - 1)]
                self._next += 1
        prompt_tokens = sum(len(m["content"].split()) for m in messages)
        return {
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split())},
        }

    def forward(self, prompt: str | None = None, messages: list[dict[str, str]] | None = None, **kwargs: Any) -> Any:
        return self._reply(messages or [{"role": "user", "content": prompt or ""}], kwargs)

    async def aforward(
        self, prompt: str | None = None, messages: list[dict[str, str]] | None = None, **kwargs: Any
    ) -> Any:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.latency_s)
            return self.forward(prompt, messages, **kwargs)
        finally:
            self.in_flight -= 1


def scripted_client(
    script: Reply | Sequence[str], *, concurrency: int = 4, latency_s: float = 0.0, **config: Any
) -> ModelClient:
    """A ModelClient over a ScriptedLM, with no cache; ``client.dspy_lm.requests`` shows what was sent."""
    lm = ScriptedLM(script, latency_s=latency_s)
    return ModelClient(ModelConfig("scripted/test", **config), concurrency=concurrency, lm=lm)
