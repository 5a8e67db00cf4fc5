"""The forward-pass scheduler: layers start as soon as their inputs exist, examples run side by side.

Concurrency has one knob, the model client's limit on calls in flight; the engine only keeps
enough work queued to fill it (examples in flight are capped at twice the limit so the first
results arrive early instead of all at the end).

A model call that keeps failing fails its example, not the batch; the batch stops only when the
model never answered at all, or when more examples failed so than the model's ``max_failures``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ann.datasets.example import Example
from ann.errors import AnnError, BudgetExceeded, LMError, RunError, TooManyFailures
from ann.layers.base import TeamRun
from ann.lm import ModelClient
from ann.trace import LayerRecord, Trace

if TYPE_CHECKING:
    from ann.graph import Graph


@dataclass
class Result:
    """One example's run: the graph's outputs, its trace, and the error if it failed.

    ``lm_error`` is set when the example failed because a model call kept failing after its retries.
    """

    outputs: dict[str, Any]
    trace: Trace
    error: str | None = None
    example_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    lm_error: LMError | None = field(default=None, repr=False)


async def run_graph(
    graph: Graph, inputs: dict[str, Any], client: ModelClient, *, example_id: str = "", raise_errors: bool = False
) -> Result:
    """Run one example through the graph.

    Args:
        raise_errors: Raise on a failed layer instead of returning a Result with ``error``.

    Raises:
        BudgetExceeded: A budget stopped a call (always raised: it ends the whole batch).
        LMError: A model call kept failing and ``raise_errors`` is set.
        RunError: A layer failed otherwise and ``raise_errors`` is set.
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
        team = TeamRun(layer, layer_inputs, client, trace, graph.fields, graph.choices, graph.types)
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
                candidates=[c.record() for c in outcome.candidates],
                outputs=outcome.outputs,
                decision=outcome.decision,
            )
        )
        for name in layer.outputs:
            values[name].set_result(outcome.outputs.get(name, ""))

    try:
        # Plain gather: run_layer settles its own failures (AnnError), so only a bug or a cancellation
        # gets here, and then the layers waiting on the failed one's outputs must be cancelled below.
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
    # A spent budget ends the whole batch, not just this example.
    stops = [exc for exc in _all_errors(values) if isinstance(exc, BudgetExceeded)]
    if stops:
        trace.error = str(stops[0])
        raise stops[0]
    # A call that kept failing fails its example, whichever layer made it.
    lm_error = next((exc for exc in _all_errors(values) if isinstance(exc, LMError)), None)
    if errors or lm_error is not None:
        trace.error = str(lm_error or _root_error(values) or errors[0])
        if raise_errors:
            raise lm_error or RunError(trace.error, trace=trace)
        return Result(outputs={}, trace=trace, error=trace.error, example_id=example_id, lm_error=lm_error)
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

    An example whose model call kept failing after its retries fails alone (its Result and trace say
    why). The batch stops, cancelling the examples not yet finished (calls in flight run to their
    end), when such a failure comes before the model answered any call, or when more than
    ``client.config.max_failures`` of the examples failed so.

    Raises:
        LMError: A call failed before the model had answered any: it is unreachable or refuses.
        TooManyFailures: More examples failed on model calls than ``max_failures`` allows.
        BudgetExceeded: A budget stopped a call.
    """
    window = asyncio.Semaphore(max(2 * client.concurrency, 1))
    allowed = int(client.config.max_failures * len(examples))  # one more failed example stops the batch
    failed: list[Result] = []

    async def one(example: Example) -> Result:
        async with window:
            result = await run_graph(graph, example.inputs, client, example_id=example.id)
        if result.lm_error is not None:
            failed.append(result)
            if client.usage.calls + client.usage.cache_hits == 0:
                raise result.lm_error
            if len(failed) > allowed:
                raise TooManyFailures(
                    f"{len(failed)} of {len(examples)} examples failed because a model call kept failing, more than "
                    f"--max-failures {client.config.max_failures:g} allows; the first: {failed[0].error}"
                )
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
