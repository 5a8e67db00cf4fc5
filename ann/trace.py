"""Trace: what one forward pass did — every LLM call and every aggregator decision.

The backward pass reads a trace to assign blame, the CLI sums it for accounting, and users read
it (saved as JSONL) to see exactly which prompt produced which answer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ann.io import atomic_write_text


@dataclass
class Usage:
    """Tokens, calls and money spent; adds up across calls, layers and runs.

    Every request sent to a model is either one of ``calls`` (answered; its tokens counted) or one
    of ``failed_attempts`` (a 429, 5xx, reset, timeout or unreadable reply, retried or given up on).
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    cache_hits: int = 0
    failed_attempts: int = 0

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost += other.cost
        self.cache_hits += other.cache_hits
        self.failed_attempts += other.failed_attempts

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class CallRecord:
    """One LLM call: who made it, what it saw, what came back and what it cost.

    ``error`` is set (and ``outputs`` empty) when the call failed or its reply could not be parsed.
    ``failed_attempts`` holds why each attempt that did not get a reply failed: all were retried
    when the call got its reply in the end; the last is the call's ``error`` when it did not.
    """

    layer: str
    agent: str
    purpose: str
    inputs: dict[str, Any]
    messages: list[dict[str, str]]
    raw: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    latency_s: float = 0.0
    cache_hit: bool = False
    truncated: bool = False
    error: str | None = None
    failed_attempts: list[str] = field(default_factory=list)
    answered: bool = False

    def usage(self) -> Usage:
        return Usage(
            calls=1 if self.answered and not self.cache_hit else 0,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost=self.cost,
            cache_hits=1 if self.cache_hit else 0,
            failed_attempts=len(self.failed_attempts),
        )


@dataclass
class LayerRecord:
    """One layer's run: its inputs, the candidates its team produced and what the aggregator chose."""

    layer: str
    aggregator: str
    inputs: dict[str, Any]
    candidates: list[dict[str, Any]]
    outputs: dict[str, Any]
    decision: str
    error: str | None = None


@dataclass
class Trace:
    """Everything one forward pass did, in the order it happened."""

    example_id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    calls: list[CallRecord] = field(default_factory=list)
    layers: list[LayerRecord] = field(default_factory=list)
    tool_calls: list[Any] = field(default_factory=list)  # ann.tools.loop.ToolCallRecord
    error: str | None = None
    wall_s: float = 0.0

    def usage(self) -> Usage:
        total = Usage()
        for call in self.calls:
            total.add(call.usage())
        return total

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def save_traces(traces: list[Trace], path: str | Path) -> None:
    """Write traces as JSONL, one trace per line, atomically."""
    lines = [json.dumps(trace.to_dict(), ensure_ascii=False, default=str) for trace in traces]
    atomic_write_text(Path(path), "\n".join(lines) + ("\n" if lines else ""))
