"""DRAFT: real exploration calls, diversity-driven regeneration, and convergence-based termination."""

import asyncio
import json

from ann.optimizers.draft import bleu, cosine, refine_tool
from ann.tools import Tool

CALLS = []


def stock(item: str, qty: int = 1) -> str:
    """Reserve items."""
    CALLS.append({"item": item, "qty": qty})
    if qty > 5:
        raise ValueError("at most 5 per order")
    return f"reserved {qty} {item}"


def letters(text):
    return [text.count(c) + 0.01 for c in "abcdefghijklmnopqrstuvwxyz0123456789"]


async def distinct(texts):
    return [letters(t) for t in texts]


async def identical(texts):
    return [[1.0, 0.0] for _ in texts]


def script(probes, docs):
    probes, docs = iter(probes), iter(docs)

    def reply(messages):
        system = messages[0]["content"]
        if "curious tester" in system:
            return json.dumps({"arguments": next(probes)})
        if "checks documentation against real behaviour" in system:
            return json.dumps({"suggestions": "Say that qty is capped at 5."})
        if "technical writer" in system:
            return json.dumps({"documentation": next(docs)})
        raise AssertionError(system[:60])

    return reply


def test_explorer_arguments_are_called_for_real_and_errors_are_observed(scripted):
    CALLS.clear()
    probes = [{"item": "pen", "qty": 2}, {"item": "ink", "qty": 9}]
    docs = ["Reserve items by name.", "Reserve up to 5 items by name; more raises an error."]
    client = scripted(script(probes, docs))
    tool = Tool(stock)
    run = asyncio.run(refine_tool(tool, client, distinct, episodes=2, tau=0.99))
    assert CALLS == [{"item": "pen", "qty": 2}, {"item": "ink", "qty": 9}]
    assert [e.ok for e in run.episodes] == [True, False]
    assert run.episodes[1].result == "ValueError: at most 5 per order"

    def prompts(system_says):
        requests = client.dspy_lm.requests
        return [r["messages"][-1]["content"] for r in requests if system_says in r["messages"][0]["content"]]

    assert "Result:\nerror: ValueError: at most 5 per order" in prompts("checks documentation against real")[1]
    assert "Result:\nerror: ValueError: at most 5 per order" in prompts("a technical writer.")[1]  # the rewriter too
    assert tool.doc.value == "Reserve up to 5 items by name; more raises an error."
    assert run.stopped == "ran all 2 episodes"


def test_a_probe_too_similar_to_an_earlier_one_is_regenerated_at_most_three_times(scripted):
    probes = [{"item": "pen"}] * 5
    client = scripted(script(probes, ["Doc one, a first draft.", "Doc two, quite another text."]))
    run = asyncio.run(refine_tool(Tool(stock), client, identical, episodes=2, phi=0.9, tau=2.0))
    assert [e.regenerations for e in run.episodes] == [0, 3]
    explorer = [r["messages"] for r in client.dspy_lm.requests if "curious tester" in r["messages"][0]["content"]]
    assert len(explorer) == 1 + 4
    assert "too similar to an earlier one" in explorer[2][-1]["content"]
    assert "too similar" not in explorer[1][-1]["content"]


def test_the_loop_stops_when_the_doc_has_converged(scripted):
    client = scripted(script([{"item": "a"}, {"item": "b"}], ["Reserve items.", "Reserve items."]))
    tool = Tool(stock)
    run = asyncio.run(refine_tool(tool, client, distinct, episodes=5, tau=0.75))
    assert len(run.episodes) == 1 and run.episodes[0].delta > 0.75
    assert run.stopped.startswith("converged at episode 1")


def test_delta_parts():
    assert abs(bleu("the same text here", "the same text here") - 1.0) < 1e-9
    assert bleu("one thing", "something else entirely") < 0.2
    assert abs(cosine([1, 0], [1, 0]) - 1.0) < 1e-9 and cosine([1, 0], [0, 1]) == 0.0
