"""The forward-pass scheduler: layers start as soon as their inputs exist, examples run side by side.

Concurrency has one knob, the model client's limit on calls in flight; the engine only keeps
enough work queued to fill it (examples in flight are capped at twice the limit so the first
results arrive early instead of all at the end).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ann.datasets.example import Example
from ann.errors import AnnError, BudgetExceeded, LMError, RunError
from ann.layers.base import TeamRun
from ann.lm import ModelClient
from ann.trace import LayerRecord, Trace

if TYPE_CHECKING:
    from ann.graph import Graph


@dataclass
class Result:
    """One example's run: the graph's outputs, its trace, and the error if it failed."""

    outputs: dict[str, Any]
    trace: Trace
    error: str | None = None
    example_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


async def run_graph(
    graph: Graph, inputs: dict[str, Any], client: ModelClient, *, example_id: str = "", raise_errors: bool = False
) -> Result:
    """Run one example through the graph.

    Args:
        raise_errors: Raise RunError on a failed layer instead of returning a Result with ``error``.

    Raises:
        LMError: The model could not be reached (always raised: every other example would fail too).
        RunError: A layer failed and ``raise_errors`` is set.
    """
    missing = [name for name in graph.inputs if name not in inputs]
    if missing:
        raise RunError(f"missing graph inputs {missing} (got {sorted(inputs)})")
    trace = Trace(example_id=example_id, inputs=dict(inputs))
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    values: dict[str, asyncio.Future[Any]] = {}
    for name in graph.inputs:
        values[name] = loop.create_future()
        values[name].set_result(inputs[name])
    for layer_name in graph.order:
        for name in graph.layers[layer_name].outputs:
            values[name] = loop.create_future()

    async def run_layer(layer_name: str) -> None:
        layer = graph.layers[layer_name]
        try:
            layer_inputs = {name: await values[name] for name in layer.inputs}
        except AnnError:
            _fail(layer.outputs, values, _Skipped(f"layer '{layer_name}': skipped, an upstream layer failed"))
            return
        team = TeamRun(layer, layer_inputs, client, trace, graph.fields, graph.choices)
        try:
            outcome = await layer.run(team)
        except AnnError as exc:
            trace.layers.append(
                LayerRecord(layer_name, layer.aggregator.value, layer_inputs, [], {}, "failed", error=str(exc))
            )
            _fail(layer.outputs, values, exc)
            return
        trace.layers.append(
            LayerRecord(
                layer=layer_name,
                aggregator=layer.aggregator.value,
                inputs=layer_inputs,
                candidates=[c.outputs or {"error": c.error} for c in outcome.candidates],
                outputs=outcome.outputs,
                decision=outcome.decision,
            )
        )
        for name in layer.outputs:
            values[name].set_result(outcome.outputs.get(name, ""))

    try:
        await asyncio.gather(*(run_layer(name) for name in graph.order))
    finally:
        # When a batch is cancelled (an unreachable model, a spent budget) mid-run, settle every
        # field so no failed future is left unread (asyncio would log it at exit).
        for future in values.values():
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()
    trace.wall_s = time.perf_counter() - started
    errors = [values[name].exception() for name in graph.outputs if values[name].exception() is not None]
    # An unreachable model or a spent budget ends the whole batch, not just this example.
    lm_errors = [exc for exc in _all_errors(values) if isinstance(exc, LMError | BudgetExceeded)]
    if lm_errors:
        trace.error = str(lm_errors[0])
        raise lm_errors[0]
    if errors:
        trace.error = str(_root_error(values) or errors[0])
        if raise_errors:
            raise RunError(trace.error, trace=trace)
        return Result(outputs={}, trace=trace, error=trace.error, example_id=example_id)
    trace.outputs = {name: values[name].result() for name in graph.outputs}
    return Result(outputs=dict(trace.outputs), trace=trace, example_id=example_id)


class _Skipped(RunError):
    """A layer that did not run because a layer it depends on failed (never the root cause)."""


def _fail(names: list[str], values: dict[str, asyncio.Future[Any]], exc: BaseException) -> None:
    for name in names:
        values[name].set_exception(exc)


def _all_errors(values: dict[str, asyncio.Future[Any]]) -> list[BaseException]:
    return [f.exception() for f in values.values() if f.done() and f.exception() is not None]  # type: ignore[misc]


def _root_error(values: dict[str, asyncio.Future[Any]]) -> BaseException | None:
    """The first failure that is not just 'an upstream layer failed'."""
    for exc in _all_errors(values):
        if not isinstance(exc, _Skipped):
            return exc
    return None


async def run_batch(
    graph: Graph,
    examples: Sequence[Example],
    client: ModelClient,
    *,
    on_result: Callable[[Example, Result], None] | None = None,
) -> list[Result]:
    """Run many examples concurrently; results come back in the order of ``examples``.

    Raises:
        LMError: The model could not be reached; pending examples are cancelled.
    """
    window = asyncio.Semaphore(max(2 * client.concurrency, 1))

    async def one(example: Example) -> Result:
        async with window:
            result = await run_graph(graph, example.inputs, client, example_id=example.id)
        if on_result is not None:
            on_result(example, result)
        return result

    tasks = [asyncio.create_task(one(example)) for example in examples]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
