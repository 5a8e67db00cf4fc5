"""Shared scripted replies for optimizer tests: a 3-layer graph whose last agent is right only
when its instructions contain the word GOOD, and an optimizer model whose replies tests steer."""

from __future__ import annotations

import json
from collections.abc import Callable

from ann import Agent, Example, Graph, Layer
from ann.lm import ModelClient

CRITIC = "demanding reviewer"
DEBUGGER = "debugs teams"
REWRITER = "expert prompt engineer"
SUMMARISER = "editor of feedback"


def three_layer_graph(client: ModelClient) -> Graph:
    return Graph(
        [
            Layer(
                "plan",
                [Agent("planner", role="a planner", instructions="Plan.")],
                inputs=["question"],
                outputs=["plan"],
            ),
            Layer(
                "solve", [Agent("solver", role="a solver", instructions="Solve.")], inputs=["plan"], outputs=["draft"]
            ),
            Layer(
                "final", [Agent("writer", role="a writer", instructions="Write.")], inputs=["draft"], outputs=["answer"]
            ),
        ],
        inputs=["question"],
        outputs=["answer"],
        description="Answer 'right'.",
        lm=client,
    )


def examples(n: int, prefix: str = "q") -> list[Example]:
    return [
        Example(inputs={"question": f"{prefix}{i}"}, expected={"answer": "right"}, id=f"{prefix}{i}") for i in range(n)
    ]


def forward_reply(messages: list[dict[str, str]]) -> str | None:
    """Replies of the graph's own agents; None when the call is not theirs."""
    system = messages[0]["content"]
    if system.endswith("Reply with the answer."):
        return "right" if "GOOD" in system else "wrong"
    if system.endswith("Reply with the plan."):
        return "a plan"
    if system.endswith("Reply with the draft."):
        return "a draft"
    return None


def optimizer_script(rewrite: Callable[[list[dict[str, str]]], str]) -> Callable[[list[dict[str, str]]], str]:
    """A whole-run script: forward agents, critic, debugger (feedback for every field it is asked
    for), summariser, and ``rewrite(messages)`` for the rewriter's JSON reply."""

    def reply(messages: list[dict[str, str]]) -> str:
        forward = forward_reply(messages)
        if forward is not None:
            return forward
        system = messages[0]["content"]
        if CRITIC in system:
            return json.dumps({"critique": "The answer should be 'right'."})
        if DEBUGGER in system:
            keys = [line.split('"')[1] for line in system.splitlines() if line.startswith('- "')]
            return json.dumps({key: f"feedback for {key}" for key in keys})
        if SUMMARISER in system:
            return json.dumps({"merged": "- merged feedback"})
        if REWRITER in system:
            return rewrite(messages)
        raise AssertionError(f"unexpected call: {system[:80]}")

    return reply
