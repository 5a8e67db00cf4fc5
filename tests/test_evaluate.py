"""evaluate() under load: 1,000 examples at concurrency 32 against the loopback server.

The calls go over HTTP to the loopback server, which counts how many it serves at once; that count
must never pass the limit, and every example must come back exactly once. The model client posts
with plain httpx rather than LiteLLM, whose own cost per call (some 25 ms on a busy 2-core machine)
would make this a minute-long test; ``benchmarks/load.py`` measures the same run through LiteLLM
and ``ann eval``, with its throughput.
"""

import asyncio
import contextlib
import re
from collections import Counter
from pathlib import Path
from typing import Any

import dspy
import httpx

from ann import Agent, Example, Graph, Layer
from ann.datasets import make_metric
from ann.evaluate import EvalReport, aevaluate
from ann.lm import ModelClient, ModelConfig
from ann.testing import OpenAIServer

EXAMPLES, CONCURRENCY = 1000, 32
RSS_GROWTH_LIMIT_MB = 256  # generous: 1,000 traces take a few MB


class HttpLM(dspy.BaseLM):
    """Posts each chat request to an OpenAI-compatible endpoint with a shared httpx client."""

    def __init__(self, base_url: str, http: httpx.AsyncClient) -> None:
        super().__init__(model="openai/x", cache=False, num_retries=0)
        self.base_url, self.http = base_url, http

    async def aforward(self, prompt: str | None = None, messages: Any = None, **kwargs: Any) -> dict[str, Any]:
        response = await self.http.post(f"{self.base_url}/chat/completions",
                                        json={"model": "x", "messages": messages, **kwargs})  # fmt: skip
        response.raise_for_status()
        return response.json()


def _rss_kb(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1))


def _reset_peak_rss() -> None:
    # Linux: writing 5 to clear_refs resets the peak (VmHWM) to the current RSS. Where that is not
    # allowed the peak is the process's lifetime peak, which still bounds the run from above.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def test_a_1000_example_eval_holds_the_limit_and_loses_nothing() -> None:
    ids = [f"ex{i:04d}" for i in range(EXAMPLES)]
    examples = [Example(inputs={"question": f"question {id_}"}, expected={"answer": "ok"}, id=id_) for id_ in ids]
    layer = Layer("answer", [Agent("a", role="a terse assistant", instructions="Answer in one word.")], "single",
                  inputs=["question"], outputs=["answer"])  # fmt: skip
    graph = Graph([layer], inputs=["question"], outputs=["answer"])
    metric = make_metric("exact_match", field="answer")

    async def run(base_url: str) -> EvalReport:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=4 * CONCURRENCY)) as http:
            client = ModelClient(ModelConfig("openai/x", num_retries=0), concurrency=CONCURRENCY,
                                 lm=HttpLM(base_url, http))  # fmt: skip
            return await aevaluate(graph, examples, metric, lm=client)

    with OpenAIServer(reply=lambda request: "ok", latency_s=0.05) as server:
        before_kb = _rss_kb("VmRSS")
        _reset_peak_rss()
        report = asyncio.run(run(server.base_url))
        peak_kb = _rss_kb("VmHWM")
        max_in_flight, requests = server.max_in_flight, server.requests
    growth_mb = (peak_kb - before_kb) / 1024
    print(f"\n{EXAMPLES} examples at concurrency {CONCURRENCY}: {report.wall_s:.1f} s, "
          f"peak RSS {peak_kb / 1024:.0f} MB ({growth_mb:+.0f} MB during the run), "
          f"server peak in flight {max_in_flight}")  # fmt: skip
    assert growth_mb < RSS_GROWTH_LIMIT_MB
    assert CONCURRENCY // 2 <= max_in_flight <= CONCURRENCY  # the limit was used, and never passed
    assert (report.n, report.score, report.usage.calls, report.failures) == (EXAMPLES, 1.0, EXAMPLES, 0)
    # Every example exactly once in the results, in order, and its question sent to the model once.
    assert [item.example.id for item in report.scored] == ids
    assert [item.result.example_id for item in report.scored] == ids
    assert Counter(re.search(r"ex\d{4}", r["messages"][-1]["content"]).group() for r in requests) == Counter(ids)
