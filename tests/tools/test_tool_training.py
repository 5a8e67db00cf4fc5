"""Tool docs under training: gradients from failed runs, DRAFT in compile (kept only if validation
rises), and refined docs with their exploration log in the bundle."""

import asyncio
import json
from pathlib import Path

from ann import Agent, Example, Graph, Layer
from ann.bundle import load_bundle, make_bundle, save_bundle
from ann.datasets import make_metric
from ann.optimizers import ANNOptimizer, DraftSettings
from ann.optimizers.backward import backward
from ann.optimizers.prompts import ANALYZER_ROLE, DRAFT_REWRITER_ROLE, EXPLORER_ROLE
from ann.tools import Tool
from ann.trace import Trace
from tests.optimizers.scripts import optimizer_script

CALLS = []
GOOD_DOC = "Converts a length to metres. UNIT-CODES: m, ft."


def to_metres(value: float, unit: str) -> float:
    """Convert a length."""
    CALLS.append({"value": value, "unit": unit})
    return {"m": 1.0, "ft": 0.3048}[unit] * value


async def letters(texts):
    return [[t.count(c) + 0.01 for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts]


def agent_turn(messages):
    """The tool-using agent: it calls the tool right only when the tool's doc names the unit codes."""
    system, last = messages[0]["content"], messages[-1]["content"]
    if "You can use these tools" not in system:
        return None
    if last.startswith("Observation from to_metres: "):
        return json.dumps({"action": "final_answer", "answer": last.split(": ")[1]})
    if "UNIT-CODES" in system:
        return json.dumps({"action": "to_metres", "arguments": {"value": 10, "unit": "ft"}})
    return json.dumps({"action": "final_answer", "answer": "10"})


def script(new_doc):
    optimizer = optimizer_script(lambda messages: json.dumps({"new_value": "Answer in metres."}))

    def reply(messages):
        system = messages[0]["content"]
        if (turn := agent_turn(messages)) is not None:
            return turn
        if EXPLORER_ROLE in system:
            return json.dumps({"arguments": {"value": 1, "unit": "ft"}})
        if ANALYZER_ROLE in system:
            return json.dumps({"suggestions": "Say which unit codes are accepted."})
        if DRAFT_REWRITER_ROLE in system:
            return json.dumps({"documentation": new_doc})
        return optimizer(messages)

    return reply


def tool_graph(client):
    agent = Agent("helper", role="a helper", instructions="Use the tool.", tools=[Tool(to_metres)])
    return Graph([Layer("solve", [agent], inputs=["question"], outputs=["answer"])], inputs=["question"],
                 outputs=["answer"], lm=client)  # fmt: skip


def data(n, prefix):
    return [Example({"question": f"{prefix}{i}: 10 ft in metres?"}, {"answer": "3.048"}, id=f"{prefix}{i}")
            for i in range(n)]  # fmt: skip


def compile_with_draft(scripted, new_doc):
    CALLS.clear()
    graph = tool_graph(scripted(script(new_doc), schema_style="llamacpp"))
    optimizer = ANNOptimizer(epochs=1, batch_size=2, patience=1, draft=DraftSettings(episodes=2, embedder=letters))
    optimizer.compile(graph, trainset=data(2, "t"), valset=data(5, "v"), metric=make_metric("numeric_match"))
    return graph, optimizer


def test_draft_docs_that_raise_validation_are_kept_with_their_exploration_log(scripted, tmp_path):
    graph, optimizer = compile_with_draft(scripted, GOOD_DOC)
    run = optimizer.last_run
    assert (run.baseline_score, run.best_score) == (0.0, 1.0)
    assert run.history[0].note == "draft: tool docs" and run.history[0].accepted
    assert graph.tools()[0].doc.value == GOOD_DOC
    assert CALLS[0] == {"value": 1, "unit": "ft"}  # the explorer's probe, called for real
    assert [e.args for e in optimizer.draft_runs[0].episodes] == [{"value": 1, "unit": "ft"}] * len(
        optimizer.draft_runs[0].episodes
    )
    save_bundle(make_bundle(graph, draft=run.draft), tmp_path / "out" / "bundle.json")
    saved = json.loads((tmp_path / "out" / "bundle.json").read_text())
    assert saved["params"]["solve.helper.tools.to_metres.doc"]["value"] == GOOD_DOC
    assert saved["draft"][0]["tool"] == "to_metres" and saved["draft"][0]["episodes"][0]["result"] == "0.3048"
    assert saved["spec"]["tools"] == "bundle.tools.py"  # a copy beside the bundle: it moves with it
    assert (tmp_path / "out" / "bundle.tools.py").read_bytes() == Path(__file__).read_bytes()
    reloaded = Graph.load(tmp_path / "out" / "bundle.json")
    assert reloaded.tools()[0].doc.value == GOOD_DOC
    assert load_bundle(tmp_path / "out" / "bundle.json").draft[0].final_doc == GOOD_DOC


def test_draft_docs_that_do_not_raise_validation_are_reverted(scripted):
    graph, optimizer = compile_with_draft(scripted, "Converts lengths between several units.")
    assert optimizer.last_run.history[0].note == "draft: tool docs"
    assert not optimizer.last_run.history[0].accepted
    assert graph.tools()[0].doc.value == "Convert a length."
    assert optimizer.draft_runs[0].final_doc == "Converts lengths between several units."


def test_backward_gives_a_tool_doc_its_own_gradient_and_shows_the_debugger_the_calls(scripted):
    debugger_prompts = []

    def reply(messages):
        if (turn := agent_turn(messages)) is not None:
            return turn
        if "debugs teams" in messages[0]["content"]:
            debugger_prompts.append(messages[-1]["content"])
            return json.dumps({"agent_helper": "nothing", "tool_to_metres": "Say the unit codes: m, ft."})
        raise AssertionError(messages[0]["content"][:80])

    client = scripted(reply, schema_style="llamacpp")
    graph = tool_graph(client)
    graph.tools()[0].doc.value = "Convert a length. UNIT-CODES unknown."  # so the agent calls the tool
    result = graph(question="10 ft?")
    asyncio.run(backward(graph, result.trace, "The answer is wrong.", client, Trace()))
    assert graph.tools()[0].doc.grads == ["Say the unit codes: m, ft."]
    assert 'helper called to_metres({"value": 10, "unit": "ft"}) -> 3.048' in debugger_prompts[0]
