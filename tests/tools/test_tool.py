"""Tools run for real; every failure comes back as an observation, never as an exception."""

import asyncio
import time

import pytest

from ann.tools import Tool


def to_metres(value: float, unit: str = "m") -> float:
    """Convert."""
    factors = {"m": 1.0, "ft": 0.3048}
    if unit not in factors:
        raise KeyError(f"unknown unit {unit!r}")
    return round(value * factors[unit], 4)


def call(tool, **args):
    return asyncio.run(tool.call(args))


def test_a_call_runs_the_function_with_the_given_arguments():
    result = call(Tool(to_metres), value=10, unit="ft")
    assert result.ok and result.output == "3.048" and result.args == {"value": 10, "unit": "ft"}
    assert result.observation() == "3.048"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"value": "ten"}, "Arg value is invalid"),
        ({"value": 1, "colour": "red"}, "Arg colour is not in the tool's args"),
        ({"value": 1, "unit": "parsec"}, "KeyError: \"unknown unit 'parsec'\""),
    ],
)
def test_bad_arguments_and_tool_errors_are_observations(args, message):
    result = call(Tool(to_metres), **args)
    assert not result.ok and message in result.output
    assert result.observation().startswith("error: ")


def test_a_slow_tool_times_out_as_an_observation():
    def slow(x: int) -> int:
        time.sleep(2)
        return x

    started = time.perf_counter()
    result = call(Tool(slow, timeout_s=0.2), x=1)
    assert not result.ok and result.output == "timed out after 0.2 s"
    assert time.perf_counter() - started < 1.5


def test_async_tools_and_trainable_docs():
    async def lookup(key: str) -> dict:
        return {"key": key, "found": True}

    tool = Tool(lookup, doc="Looks a key up.")
    assert call(tool, key="a").output == '{"key": "a", "found": true}'
    params = dict(tool.named_parameters())
    assert set(params) == {"doc", "args.key"} and params["doc"].value == "Looks a key up."
    params["args.key"].value = "the exact key, case-sensitive"
    assert tool.schema()["properties"]["key"]["description"] == "the exact key, case-sensitive"
    assert tool.schema()["required"] == ["key"]
    assert tool.describe().startswith('lookup({"key": ')
    assert Tool(to_metres).doc.value == "Convert."
