"""TextLoss: score a run with the task metric and, when it failed, critique it in words.

The critique is the *global gradient*: what is wrong with the final answer and what a right one
looks like. Solved examples give no gradient — the backward pass runs only on what went wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ann.agent import Agent
from ann.calls import ask_agent
from ann.datasets.example import Example
from ann.datasets.metric_result import MetricResult
from ann.engine import Result
from ann.errors import LMError, ParseError
from ann.evaluate import score_one
from ann.graph import Graph
from ann.lm import ModelClient
from ann.optimizers.backward import backward
from ann.optimizers.describe import clip, describe_fields, describe_graph, describe_trajectory
from ann.optimizers.prompts import CRITIC_INSTRUCTIONS, CRITIC_OUTPUT, CRITIC_ROLE
from ann.tasks import gather_all
from ann.trace import Trace

CRITIC = Agent("critic", role=CRITIC_ROLE, instructions=CRITIC_INSTRUCTIONS)
CRITIC_INPUTS = ["task", "system", "input", "answer", "expected", "score_feedback", "trajectory"]


@dataclass
class LossItem:
    """One example's verdict; ``critique`` is its global gradient (None when solved)."""

    example: Example
    result: Result
    metric: MetricResult
    critique: str | None = None


class TextLoss:
    """The task metric plus a critic that turns failures into textual gradients.

    Args:
        metric: ``metric(example, outputs) -> MetricResult``.
        graph: The graph being trained (its structure is shown to the critic).
        lm: The optimizer's model.
        solved_at: A score at or above this counts as solved and gets no gradient.

    Example:
        >>> loss = TextLoss(metric, graph=graph, lm=optimizer_lm)
        >>> await loss.acall(example, result)   # score + global gradient
        >>> await loss.abackward()              # local gradients into every layer's params
    """

    def __init__(self, metric: Callable[..., MetricResult], *, graph: Graph, lm: ModelClient, solved_at: float = 1.0):
        self.metric = metric
        self.graph = graph
        self.lm = lm
        self.solved_at = solved_at
        self.items: list[LossItem] = []
        self.trace = Trace(example_id="optimizer")

    @property
    def score(self) -> float:
        """Mean metric score of the examples seen since the last backward pass."""
        return sum(item.metric.score for item in self.items) / len(self.items) if self.items else 0.0

    async def acall(self, example: Example, result: Result) -> LossItem:
        """Score one run; critique it when it is not solved."""
        verdict = await score_one(self.metric, example, result)
        item = LossItem(example, result, verdict)
        # A run lost to a failing model call says nothing about the prompts: no critique, no gradient.
        if verdict.score < self.solved_at and result.lm_error is None:
            item.critique = await self._critique(item)
        self.items.append(item)
        return item

    async def _critique(self, item: LossItem) -> str:
        values: dict[str, Any] = {
            "task": self.graph.task.value or self.graph.name,
            "system": describe_graph(self.graph),
            "input": describe_fields(item.example.inputs),
            "answer": f"(failed: {item.result.error})" if item.result.error else describe_fields(item.result.outputs),
            "expected": describe_fields(item.example.expected),
            "score_feedback": clip(item.metric.feedback or f"score {item.metric.score:.2f}"),
            "trajectory": describe_trajectory(item.result.trace) or "(no layer finished)",
        }
        try:
            reply = await ask_agent(
                self.lm, self.trace, CRITIC, values, inputs=CRITIC_INPUTS, outputs=["critique"],
                descriptions={"critique": CRITIC_OUTPUT}, layer="loss", purpose="critique", json_reply=True,
            )  # fmt: skip
        except (ParseError, LMError):
            # A critic that cannot answer still leaves the metric's own words as the gradient.
            return item.metric.feedback or "The answer was scored as wrong."
        return str(reply["critique"]).strip() or item.metric.feedback

    async def abackward(self) -> None:
        """Propagate every unsolved example's critique through the graph into param grads."""
        failed = [item for item in self.items if item.critique]
        params = self.graph.parameters()
        before = [len(param.grads) for param in params]
        await gather_all(*(backward(self.graph, item.result.trace, item.critique or "", self.lm, self.trace)
                               for item in failed))  # fmt: skip
        for param, known in zip(params, before, strict=True):
            # Concurrent backward passes append in completion order; a fixed order keeps runs reproducible.
            param.grads[known:] = sorted(param.grads[known:])
        self.items = []

    def backward(self) -> None:
        """Synchronous ``abackward``."""
        asyncio.run(self.abackward())
