"""evaluate(): run a graph over a dataset and score it — the measurement everything else relies on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ann.datasets.example import Example
from ann.datasets.metric_result import MetricResult
from ann.engine import Result
from ann.errors import LMError, ParseError
from ann.graph import Graph
from ann.lm import ModelClient
from ann.tasks import gather_all
from ann.trace import Usage

Metric = Callable[[Example, dict], MetricResult]


@dataclass
class Scored:
    """One example's result with its metric verdict."""

    example: Example
    result: Result
    metric: MetricResult


@dataclass
class EvalReport:
    """A dataset's score and what it took to get it."""

    score: float
    scored: list[Scored] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    wall_s: float = 0.0

    @property
    def n(self) -> int:
        return len(self.scored)

    @property
    def failures(self) -> int:
        """Examples whose forward pass failed (scored 0)."""
        return sum(1 for s in self.scored if s.result.error is not None)

    @property
    def parse_failures(self) -> int:
        """Calls whose reply could not be parsed, across all examples."""
        return sum(1 for s in self.scored for c in s.result.trace.calls if c.error and c.raw)

    @property
    def calls(self) -> int:
        return sum(len(s.result.trace.calls) for s in self.scored)


async def score_one(metric: Metric, example: Example, result: Result) -> MetricResult:
    """Score one run: a failed run scores 0; async metrics (``acall``) are awaited, sync ones run
    in a thread so a slow metric (a sandboxed test run) never stalls the model calls."""
    if result.error is not None:
        return MetricResult(0.0, f"the run failed: {result.error}")
    try:
        acall = getattr(metric, "acall", None)
        if acall is not None:
            return await acall(example, result.outputs)
        return await asyncio.to_thread(metric, example, result.outputs)
    except (ParseError, LMError) as exc:
        # An unparseable verdict, or a judge's model call that kept failing, fails this example only.
        return MetricResult(0.0, f"the metric could not score this answer: {exc}")


async def aevaluate(
    graph: Graph,
    examples: Sequence[Example],
    metric: Metric,
    *,
    lm: ModelClient | None = None,
    on_scored: Callable[[Scored], None] | None = None,
) -> EvalReport:
    """Run and score every example; a failed run scores 0 with its error as feedback.

    Raises:
        LMError: The model failed before answering any call.
        TooManyFailures: More examples failed on model calls than the model's ``max_failures``.
        BudgetExceeded: A budget stopped a call.
    """
    started = time.perf_counter()
    scoring: list[asyncio.Task[Scored]] = []

    async def score(example: Example, result: Result) -> Scored:
        item = Scored(example, result, await score_one(metric, example, result))
        if on_scored is not None:
            on_scored(item)
        return item

    def schedule(example: Example, result: Result) -> None:
        scoring.append(asyncio.create_task(score(example, result)))

    try:
        results = await graph.abatch(examples, lm=lm, on_result=schedule)
    except BaseException:
        # The batch stopped: scoring already under way must not outlive this call.
        for task in scoring:
            task.cancel()
        await asyncio.gather(*scoring, return_exceptions=True)
        raise
    by_result = {id(item.result): item for item in await gather_all(*scoring)}
    scored = [by_result[id(result)] for result in results]
    usage = Usage()
    for item in scored:
        usage.add(item.result.trace.usage())
    mean = sum(s.metric.score for s in scored) / len(scored) if scored else 0.0
    return EvalReport(score=mean, scored=scored, usage=usage, wall_s=time.perf_counter() - started)
