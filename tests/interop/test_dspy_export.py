"""export_dspy: the exported dspy.Module sends ann's messages and returns ann's outputs."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import dspy
import pytest

from ann.agent import Agent
from ann.build import graph_from_spec
from ann.bundle import make_bundle, save_bundle
from ann.errors import ConfigError
from ann.graph import Graph
from ann.interop import export_dspy
from ann.interop.dspy_export import task_text
from ann.layers.layer import Layer
from ann.spec import Spec
from ann.testing.scripted_lm import ScriptedLM, scripted_client


def _program(text: str) -> dspy.Module:
    namespace: dict[str, Any] = {}
    exec(compile(text, "exported.py", "exec"), namespace)  # noqa: S102 - our own generated file
    return namespace["Program"]()


def _run_both(graph: Graph, reply: Any, **inputs: str) -> tuple[Any, Any, ScriptedLM, ScriptedLM]:
    """ann's outputs and the exported program's, on the same script; and both scripted LMs."""
    client = scripted_client(reply)
    ours = graph(lm=client, **inputs).outputs
    lm = ScriptedLM(reply)
    with dspy.context(lm=lm):
        theirs = _program(export_dspy(graph))(**inputs)
    return ours, theirs, client.dspy_lm, lm


def _messages(lm: ScriptedLM) -> list[str]:
    return sorted(json.dumps(request["messages"]) for request in lm.requests)


def _labeler() -> Graph:
    spec = Spec.model_validate({
        "name": "tickets",
        "inputs": ["ticket", "product"],
        "outputs": ["label", "reply"],
        "fields": {"ticket": "a support ticket", "label": {"choices": ["bug", "question"]}},
        "graph": {"layers": [
            {"name": "triage", "inputs": ["ticket", "product"], "outputs": ["label"],
             "agents": [{"name": "clerk", "role": "a support clerk", "instructions": "Label the ticket."}]},
            {"name": "answer", "inputs": ["ticket", "label"], "outputs": ["reply"],
             "agents": [{"name": "writer", "instructions": "Write a one-line reply."}], "temperature": 0.2},
        ]},
    })  # fmt: skip
    graph = graph_from_spec(spec)
    graph.layers["triage"].agents[0].demos.value = json.dumps(
        [{"ticket": "It crashes", "product": "app", "label": "bug"}]
    )
    return graph


def _ticket_reply(messages: list[dict[str, str]]) -> str:
    return '{"label": "bug"}' if "support clerk" in messages[0]["content"] else "Sorry, we are fixing it."


def test_a_chain_of_single_agents_sends_anns_messages_and_returns_anns_outputs() -> None:
    ours, theirs, ann_lm, dspy_lm = _run_both(_labeler(), _ticket_reply, ticket="Crash on start", product="app")

    assert ours == {"label": "bug", "reply": "Sorry, we are fixing it."}
    assert dict(theirs.items()) == ours
    assert _messages(dspy_lm) == _messages(ann_lm)  # role, instructions, demos, labels, choices: byte for byte
    assert [r.get("temperature") for r in dspy_lm.requests] == [None, 0.2]


def test_a_bundle_file_exports_the_same_program_as_its_graph(tmp_path: Path) -> None:
    graph = _labeler()
    save_bundle(make_bundle(graph), tmp_path / "bundle.json")

    assert export_dspy(tmp_path / "bundle.json") == export_dspy(graph)


def _voters() -> Graph:
    answers = {"a": "7", "b": "8", "c": "It is 8.", "d": ""}  # d's empty reply fails to parse and loses its vote
    agents = [Agent(name, instructions=f"You are voter {name}. Reply {answers[name]!r}.") for name in answers]
    solve = Layer("solve", agents, "vote", inputs=["question"], outputs=["answer"], samples=2)
    return Graph([solve], inputs=["question"], outputs=["answer"])


def _vote_reply(messages: list[dict[str, str]]) -> str:
    return messages[0]["content"].split("Reply '")[1].split("'")[0]


def test_vote_takes_anns_majority_over_every_agent_and_sample() -> None:
    ours, theirs, ann_lm, dspy_lm = _run_both(_voters(), _vote_reply, question="What is 4 + 4?")

    assert ours == {"answer": "8"}  # b answered 8 first; c's "It is 8." agrees with it
    assert dict(theirs.items()) == ours
    assert _messages(dspy_lm) == _messages(ann_lm)  # 4 agents x 2 samples
    assert sorted(r.get("rollout_id", 0) for r in dspy_lm.requests) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert sorted(r.get("temperature") or 0.0 for r in dspy_lm.requests) == [0.0] * 4 + [0.7] * 4


def test_the_file_says_which_team_types_it_approximates_and_is_plain_python() -> None:
    text = export_dspy(_voters())

    ast.parse(text)
    header = text.split('"""')[1]
    assert "`single` is reproduced exactly. `vote` is approximated" in header


def test_team_types_dspy_cannot_express_are_refused_naming_the_layer() -> None:
    judged = Layer("solve", [Agent("a"), Agent("b")], "judge", inputs=["question"], outputs=["answer"])
    with pytest.raises(ConfigError, match="layer 'solve': team type 'judge' has no DSPy export"):
        export_dspy(Graph([judged], inputs=["question"], outputs=["answer"]))


@pytest.mark.parametrize(
    ("role", "instructions"), [("", ""), ("a tutor.", ""), ("", " Be brief. "), ("a tutor", "Go.")]
)
def test_task_text_is_the_agents_own(role: str, instructions: str) -> None:
    assert task_text(role, instructions) == Agent("a", role, instructions).task_text()
