"""evaluate(): run a graph over a dataset and score it — the measurement everything else relies on."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ann.datasets.example import Example
from ann.datasets.metric_result import MetricResult
from ann.engine import Result
from ann.graph import Graph
from ann.lm import ModelClient
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
        LMError: The model could not be reached.
    """
    scored: list[Scored] = []
    started = time.perf_counter()

    def score(example: Example, result: Result) -> None:
        if result.error is not None:
            verdict = MetricResult(0.0, f"the run failed: {result.error}")
        else:
            verdict = metric(example, result.outputs)
        item = Scored(example, result, verdict)
        scored.append(item)
        if on_scored is not None:
            on_scored(item)

    results = await graph.abatch(examples, lm=lm, on_result=score)
    order = {id(r): i for i, r in enumerate(results)}
    scored.sort(key=lambda s: order[id(s.result)])
    usage = Usage()
    for item in scored:
        usage.add(item.result.trace.usage())
    mean = sum(s.metric.score for s in scored) / len(scored) if scored else 0.0
    return EvalReport(score=mean, scored=scored, usage=usage, wall_s=time.perf_counter() - started)
