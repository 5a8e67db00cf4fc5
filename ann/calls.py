"""traced_call: one model call recorded in the trace, whatever happens to it.

Agents and aggregators both call through here, so every call — answered, failed or unparseable —
lands in the trace with its messages, raw reply, tokens, cost, latency and failed attempts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ann.agent import Agent
from ann.errors import BudgetExceeded, LMError, ParseError
from ann.lm import ModelClient, json_response_format
from ann.trace import CallRecord, Trace

if TYPE_CHECKING:
    from ann.spec import FieldSpec

T = TypeVar("T")


async def traced_call(
    client: ModelClient,
    trace: Trace,
    *,
    layer: str,
    agent: str,
    purpose: str,
    inputs: dict[str, Any],
    messages: list[dict[str, str]],
    parse: Callable[[str], T],
    sample: int = 0,
    temperature: float | None = None,
    response_format: dict[str, Any] | None = None,
) -> T:
    """Call the model, record the call, and parse the reply.

    Raises:
        LMError: The model could not be reached; recorded in the trace first.
        ParseError: The reply could not be parsed; recorded in the trace first.
    """
    record = CallRecord(layer=layer, agent=agent, purpose=purpose, inputs=dict(inputs), messages=messages)
    trace.calls.append(record)
    try:
        completion = await client.complete(
            messages, sample=sample, temperature=temperature, response_format=response_format,
            on_failed_attempt=record.failed_attempts.append,
        )  # fmt: skip
    except (LMError, BudgetExceeded) as exc:
        record.error = str(exc)
        raise
    record.answered = True
    record.raw = completion.text
    record.prompt_tokens = completion.prompt_tokens
    record.completion_tokens = completion.completion_tokens
    record.cost = completion.cost
    record.latency_s = completion.latency_s
    record.cache_hit = completion.cache_hit
    record.truncated = completion.truncated
    try:
        parsed = parse(completion.text)
    except ParseError as exc:
        record.error = str(exc)
        raise
    if isinstance(parsed, dict):
        record.outputs = dict(parsed)
    return parsed


async def ask_agent(
    client: ModelClient,
    trace: Trace,
    agent: Agent,
    values: dict[str, Any],
    *,
    inputs: list[str],
    outputs: list[str],
    descriptions: dict[str, str] | None = None,
    choices: dict[str, list[str]] | None = None,
    types: dict[str, FieldSpec] | None = None,
    layer: str = "",
    purpose: str = "answer",
    sample: int = 0,
    temperature: float | None = None,
    json_reply: bool = False,
) -> dict[str, Any]:
    """One framed, traced call of ``agent`` reading ``inputs`` and writing ``outputs``.

    Raises:
        ParseError: The reply did not fit the output fields (recorded in the trace).
        LMError: The model could not be reached (recorded in the trace).
    """
    # ann.adapter builds on dspy, which takes seconds to import: imported at the first call, not at startup.
    from ann.adapter import AnnAdapter, output_schema

    adapter = AnnAdapter(json_reply=json_reply)
    signature = agent.signature(inputs, outputs, descriptions, choices, types)
    messages = adapter.format(signature, agent.demo_examples(), values)
    schema = output_schema(signature, json_reply=json_reply)
    response_format = json_response_format(schema, client.config.schema_style) if schema else None
    return await traced_call(
        client,
        trace,
        layer=layer,
        agent=agent.name,
        purpose=purpose,
        inputs={name: values.get(name) for name in inputs},
        messages=messages,
        parse=lambda text: adapter.parse(signature, text),
        sample=sample,
        temperature=temperature,
        response_format=response_format,
    )
