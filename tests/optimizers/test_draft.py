"""DRAFT: real exploration calls, diversity-driven regeneration, and convergence-based termination."""

import asyncio
import json

import pytest

from ann import Agent, Graph, Layer
from ann.optimizers.draft import bleu, cosine, refine_tool
from ann.optimizers.proposers.draft import DraftProposer, DraftSettings
from ann.tools import Tool
from ann.tools.http import HttpOperation, http_tool
from tests.shop_api import SEEN

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


def quote_tool(api: str) -> Tool:
    """A POST operation: calling it with made-up arguments could change something on the server."""
    return http_tool(HttpOperation(name="quote", method="POST", url=f"{api}/quote", parameters={"grams": {}}))


def test_draft_calls_a_post_operation_only_when_the_user_allows_that_tool(api, scripted):
    client = scripted(script([{"grams": 250}], ["Quote shipping for a weight in grams."]))
    skipped = asyncio.run(refine_tool(quote_tool(api), client, distinct, episodes=1))
    assert skipped.episodes == [] and SEEN == [] and client.dspy_lm.requests == []
    assert skipped.stopped == ("not explored: POST is not a safe method (GET, HEAD); "
                               "--draft-allow-unsafe quote lets DRAFT call it")  # fmt: skip
    allowed = asyncio.run(refine_tool(quote_tool(api), client, distinct, episodes=1, allow_unsafe=True))
    assert SEEN == [{"path": "/quote", "body": {"grams": 250}}] and allowed.episodes[0].ok


@pytest.mark.parametrize("allow", [frozenset(), frozenset({"quote"})])
def test_draft_in_training_skips_unsafe_tools_it_was_not_allowed_and_logs_why(api, scripted, allow):
    client = scripted(script([{"grams": 250}], ["Quote shipping for a weight in grams."]))
    graph = Graph([Layer("solve", [Agent("clerk", tools=[quote_tool(api)])], inputs=["q"], outputs=["a"])],
                  inputs=["q"], outputs=["a"])  # fmt: skip
    settings = DraftSettings(episodes=1, embedder=distinct, allow_unsafe=allow)
    proposer = DraftProposer(settings, lm=client, guards=None, on_phase=lambda text: None, before_tool=lambda: None)
    asyncio.run(proposer.propose(graph))
    (run,) = proposer.runs
    if allow:
        assert len(SEEN) == 1 and len(run.episodes) == 1
    else:
        assert SEEN == [] and run.episodes == [] and run.stopped.startswith("not explored: POST")
