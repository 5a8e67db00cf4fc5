import asyncio
import time

import pytest

from ann import Agent, Example, Graph, Layer, LMError
from ann.errors import RunError, TooManyFailures
from ann.lm import ModelClient, ModelConfig
from ann.testing.scripted_lm import ScriptedLM
from ann.trace import save_traces


def fan_graph(client, agents=3):
    def team(prefix):
        return [Agent(f"{prefix}{i}") for i in range(agents)]

    return Graph(
        [
            Layer("left", team("l"), "vote", inputs=["q"], outputs=["x"]),
            Layer("right", team("r"), "vote", inputs=["q"], outputs=["y"]),
            Layer("join", team("j"), "vote", inputs=["x", "y"], outputs=["answer"]),
        ],
        inputs=["q"],
        outputs=["answer"],
        lm=client,
    )


def test_independent_layers_and_agents_run_concurrently(scripted):
    client = scripted(lambda m: "1", latency_s=0.1, concurrency=16)
    started = time.perf_counter()
    result = fan_graph(client)(q="?")
    wall = time.perf_counter() - started
    assert result.outputs == {"answer": "1"}
    assert client.dspy_lm.max_in_flight == 6  # left and right teams together
    assert wall < 0.35  # two waves of 0.1 s, not nine calls in a row


def test_concurrency_limit_holds_across_a_batch(scripted):
    client = scripted(lambda m: "1", latency_s=0.02, concurrency=3)
    examples = [Example(inputs={"q": str(i)}, id=str(i)) for i in range(10)]
    seen = []
    results = fan_graph(client).batch(examples, on_result=lambda e, r: seen.append(e.id))
    assert client.dspy_lm.max_in_flight == 3
    assert [r.example_id for r in results] == [e.id for e in examples]
    assert sorted(seen, key=int) == [e.id for e in examples]
    assert client.usage.calls == 90


def test_failed_layer_is_recorded_skips_downstream_and_does_not_hang(scripted):
    client = scripted(lambda m: "" if "Reply with the x" in m[0]["content"] else "5")
    graph = fan_graph(client)
    with pytest.raises(RunError, match="layer 'left': no usable answer") as info:
        graph(q="?")
    trace = info.value.trace
    assert {c.layer for c in trace.calls} == {"left", "right"}
    assert all(c.error == "the model returned an empty reply" for c in trace.calls if c.layer == "left")
    results = graph.batch([Example(inputs={"q": "a"}, id="a")])
    assert results[0].error.startswith("layer 'left'") and results[0].outputs == {}


class DownLM(ScriptedLM):
    async def aforward(self, prompt=None, messages=None, **kwargs):
        from dspy.utils.exceptions import LMTransportError

        raise LMTransportError("Connection refused")


def test_unreachable_model_aborts_a_batch_with_lm_error():
    config = ModelConfig("openai/x", api_base="http://127.0.0.1:9/v1", num_retries=0)
    client = ModelClient(config, lm=DownLM(["x"]))
    examples = [Example(inputs={"q": str(i)}, id=str(i)) for i in range(5)]
    with pytest.raises(LMError, match="model openai/x at http://127.0.0.1:9/v1: Connection refused"):
        fan_graph(client).batch(examples)


def test_traces_save_as_jsonl(scripted, tmp_path):
    results = fan_graph(scripted(["7"])).batch([Example(inputs={"q": "a"}, id="a"), Example(inputs={"q": "b"}, id="b")])
    path = tmp_path / "traces.jsonl"
    save_traces([r.trace for r in results], path)
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and '"example_id": "b"' in lines[1] and '"decision": "3 of 3 agreed' in lines[0]


def test_sync_call_inside_running_loop_is_a_clear_error(scripted):
    graph = fan_graph(scripted(["1"]))

    async def inside():
        return graph(q="?")

    with pytest.raises(Exception, match="use `await graph.acall"):
        asyncio.run(inside())
    assert asyncio.run(graph.acall(q="?")).outputs == {"answer": "1"}


class FlakyLM(ScriptedLM):
    """Answers "1", except that every call about a question containing "poison" fails with a 500."""

    async def aforward(self, prompt=None, messages=None, **kwargs):
        from dspy.utils.exceptions import LMServerError

        if "poison" in messages[-1]["content"]:
            self.requests.append({"messages": messages, **kwargs})
            raise LMServerError("The server had an error (injected)", status=500)
        return await super().aforward(prompt, messages, **kwargs)


def one_agent_graph(client):
    return Graph([Layer("solve", [Agent("a")], "single", inputs=["q"], outputs=["answer"])],
                 inputs=["q"], outputs=["answer"], lm=client)  # fmt: skip


def flaky_batch(questions, *, max_failures=0.25):
    # One call at a time, the poisoned questions last: the model has answered before any call fails for good.
    config = ModelConfig("scripted/test", num_retries=2, backoff_s=0.0, max_failures=max_failures)
    client = ModelClient(config, concurrency=1, lm=FlakyLM(["1"]))
    examples = [Example(inputs={"q": q}, id=f"e{i}") for i, q in enumerate(questions)]
    return client, one_agent_graph(client).batch(examples)


def test_a_call_that_keeps_failing_fails_its_example_not_the_batch():
    client, results = flaky_batch([f"q{i}" for i in range(7)] + ["poison"])
    assert [r.outputs for r in results[:7]] == [{"answer": "1"}] * 7
    failed = results[7]
    assert failed.outputs == {} and isinstance(failed.lm_error, LMError)
    assert failed.error.startswith("model scripted/test: ") and "The server had an error (injected)" in failed.error
    (call,) = failed.trace.calls
    assert call.error == failed.error == failed.trace.error
    assert len(call.failed_attempts) == 3  # the call and its two retries, each shown in the trace
    assert all("The server had an error (injected)" in reason for reason in call.failed_attempts)
    assert failed.trace.usage().failed_attempts == 3 and failed.trace.usage().calls == 0
    assert (client.usage.calls, client.usage.failed_attempts) == (7, 3)
    assert len(client.dspy_lm.requests) == 7 + 3  # every request is either a call or a failed attempt


def test_more_failed_examples_than_max_failures_stop_the_batch():
    questions = [f"q{i}" for i in range(5)] + ["poison 1", "poison 2", "poison 3"]
    with pytest.raises(TooManyFailures) as stopped:
        flaky_batch(questions, max_failures=0.25)  # 2 of 8 allowed
    message = str(stopped.value)
    assert message.startswith("3 of 8 examples failed because a model call kept failing, more than --max-failures 0.25")
    assert "The server had an error (injected)" in message and "\n" not in message
    _, results = flaky_batch(questions, max_failures=0.5)  # 4 of 8 allowed
    assert [r.error is not None for r in results] == [False] * 5 + [True] * 3


def test_a_model_that_never_answered_stops_the_batch_at_its_first_failure():
    # Even with every failure allowed: a model that answers nothing is unreachable or refuses, not flaky.
    with pytest.raises(LMError, match="The server had an error") as stopped:
        flaky_batch(["poison 1", "poison 2"], max_failures=1.0)
    assert not isinstance(stopped.value, TooManyFailures)
