"""verify: candidates checked by a verifier (doctests in the real sandbox, a tool, an LLM), revised, chosen."""

import asyncio
import json

import pytest

from ann import Agent, Graph, GraphError, Layer
from ann.build import build_layers
from ann.datasets import sandbox
from ann.errors import ConfigError
from ann.layers import verifiers
from ann.layers.registry import proposable_aggregators
from ann.optimizers.backward import backward
from ann.spec import AgentSpec, LayerSpec
from ann.tools.tool import Tool
from ann.trace import Trace

PROMPT = '''def add(a: int, b: int) -> int:
    """Add two numbers.
    >>> add(2, 3)
    5
    >>> add(-1, 1)
    0
    """
'''
# The metric's hidden test; the verifier must never see it.
HIDDEN_TEST = "def check(candidate):\n    assert candidate(40, 2) == 42\n"
RIGHT = "```python\ndef add(a, b):\n    return a + b\n```"
HALF_RIGHT = "    return a + b + 1 if a > 0 else a + b\n"  # passes add(-1, 1) only
HIDDEN_ONLY = "    return 42\n"  # would pass the hidden test, fails both docstring examples


def solver(messages):
    """Which agent a call belongs to: 0, 1, … for solvers, None for the team type's own agents."""
    system = messages[0]["content"]
    return int(system.split("You are solver ")[1][0]) if "You are solver " in system else None


def code_graph(client, answers, *, tools=(), **options):
    team = [Agent(f"a{i}", role=f"solver {i}") for i in range(len(answers))]
    layer = Layer("code", team, "verify", inputs=["prompt"], outputs=["completion"], options=options, tools=tools)
    return Graph([layer], inputs=["prompt"], outputs=["completion"], lm=client)


def answers_by_solver(answers):
    return lambda messages: answers[solver(messages)]


def test_a_failing_candidate_loses_to_a_passing_one(scripted):
    answers = [HALF_RIGHT, RIGHT]
    result = code_graph(scripted(answers_by_solver(answers)), answers, verifier="doctest")(prompt=PROMPT)
    assert result.outputs["completion"] == RIGHT
    record = result.trace.layers[0]
    assert record.decision.startswith("doctest scores 0.5, 1; chose agent a1 with 1 (the only one)")
    first, second = (c["verdict"] for c in record.candidates)
    assert first["score"] == 0.5 and "add(2, 3) expected '5', got '6'" in first["message"]
    assert second == {"score": 1.0, "message": "all 2 docstring examples pass", "latency_s": second["latency_s"]}
    assert second["latency_s"] > 0


def test_a_revision_round_fixes_a_candidate_from_the_verifiers_message(scripted):
    revision_prompts = []

    def reply(messages):
        if "Check result:" in messages[-1]["content"]:
            revision_prompts.append(messages[-1]["content"])
            return RIGHT
        return HALF_RIGHT

    result = code_graph(scripted(reply), [HALF_RIGHT], verifier="doctest", rounds=1)(prompt=PROMPT)
    assert result.outputs["completion"] == RIGHT
    assert len(revision_prompts) == 1
    assert "add(2, 3) expected '5', got '6'\n\nYour previous answer failed this check." in revision_prompts[0]
    assert f"Previous answer:\n{HALF_RIGHT.strip()}" in revision_prompts[0]
    assert [c.purpose for c in result.trace.calls] == ["answer", "revise round 1"]
    assert "round 1 revised 1: 1" in result.trace.layers[0].decision
    assert [c["verdict"]["score"] for c in result.trace.layers[0].candidates] == [0.5, 1.0]


def test_the_verifiers_message_reaches_the_backward_pass(scripted):
    debugger_prompts = []

    def reply(messages):
        if solver(messages) is not None:
            return HALF_RIGHT
        debugger_prompts.append(messages[-1]["content"])
        return "{}"

    client = scripted(reply)
    graph = code_graph(client, [HALF_RIGHT], verifier="doctest")
    result = graph(prompt=PROMPT)
    asyncio.run(backward(graph, result.trace, "The function is wrong.", client, Trace()))
    assert len(debugger_prompts) == 1
    assert "add(2, 3) expected '5', got '6'" in debugger_prompts[0]


def test_the_doctest_verifier_sees_only_the_docstring_examples(scripted, monkeypatch):
    programs = []
    real = sandbox.run_python

    def spy(program, **limits):
        programs.append(program)
        return real(program, **limits)

    monkeypatch.setattr(sandbox, "run_python", spy)  # the verifier imports it on its first check
    answers = [HIDDEN_ONLY, RIGHT]
    result = code_graph(scripted(answers_by_solver(answers)), answers, verifier="doctest")(prompt=PROMPT)
    assert [c["verdict"]["score"] for c in result.trace.layers[0].candidates] == [0.0, 1.0]
    assert len(programs) == 2
    for program in programs:
        checks = program.split("_ann_doctest(")[-1]
        assert "add(2, 3)" in checks and "add(-1, 1)" in checks
        assert "40" not in program and "check(" not in program.replace("_ann_doctest", "")


def check_total(items: str, total: str) -> tuple[float, str]:
    expected = sum(int(x) for x in items.split(","))
    return (1.0, "adds up") if int(total) == expected else (0.0, f"{total} is not the sum of the items")


def sum_graph(client, answers, verifier, **options):
    team = [Agent(f"a{i}", role=f"solver {i}") for i in range(len(answers))]
    tools = [Tool(verifier)] if callable(verifier) else []
    name = verifier.__name__ if callable(verifier) else verifier
    layer = Layer("sum", team, "verify", inputs=["items"], outputs=["total"], tools=tools,
                  options={"verifier": name, **options})  # fmt: skip
    return Graph([layer], inputs=["items"], outputs=["total"], lm=client)


def test_a_tool_verifier_decides_from_the_inputs_and_outputs(scripted):
    graph = sum_graph(scripted(answers_by_solver(["7", "6", "7"])), ["7", "6", "7"], check_total)
    result = graph(items="1,2,3")
    assert result.outputs["total"] == "6"  # the majority says 7, the check says 6
    verdicts = [c["verdict"] for c in result.trace.layers[0].candidates]
    assert [v["message"] for v in verdicts] == [
        "7 is not the sum of the items",
        "adds up",
        "7 is not the sum of the items",
    ]
    assert graph.tools()[0].name == "check_total"


def test_an_llm_verifier_decides_with_trainable_instructions(scripted):
    def reply(messages):
        if solver(messages) is not None:
            return ["five", "six"][solver(messages)]
        assert "strict checker" in messages[0]["content"]
        right = "six" in messages[-1]["content"]
        return json.dumps({"score": "9" if right else "2", "review": "right" if right else "not the count"})

    graph = sum_graph(scripted(reply), ["five", "six"], "llm")
    assert "sum.verify.verifier.instructions" in dict(graph.named_parameters())
    result = graph(items="1,1,1,1,1,1")
    assert result.outputs["total"] == "six"
    assert [c["verdict"]["score"] for c in result.trace.layers[0].candidates] == [0.2, 0.9]
    assert [c.purpose for c in result.trace.calls].count("verify") == 2


def crashing(items: str, total: str) -> float:
    return 1 / 0


def test_a_crashing_verifier_scores_zero_and_the_vote_decides(scripted):
    result = sum_graph(scripted(answers_by_solver(["7", "6", "7"])), ["7", "6", "7"], crashing)(items="1,2,3")
    assert result.outputs["total"] == "7"
    record = result.trace.layers[0]
    assert all(c["verdict"]["score"] == 0 for c in record.candidates)
    assert "ZeroDivisionError" in record.candidates[0]["verdict"]["message"]
    assert "a tie among 3, broken by vote: 2 of 3 agreed on '7'" in record.decision


@pytest.mark.parametrize(
    ("returned", "score", "message"),
    [("0.5", 0.5, ""), ("true", 1.0, ""), ('[0.25, "close"]', 0.25, "close"), ("2", 0.0, "expected a score")],
)
def test_tool_verdicts(returned, score, message):
    got_score, got_message = verifiers.tool_verdict(returned)
    assert got_score == score and message in got_message


def test_verify_options_are_checked():
    def layer(options, tools=()):
        return Layer("s", [Agent("a")], "verify", inputs=["q"], outputs=["x"], options=options, tools=tools)

    with pytest.raises(GraphError, match="verify: verifier must be doctest, llm or a function"):
        layer({})
    layer({"verifier": "schema"})
    with pytest.raises(GraphError, match="calls tool 'check_total', which the layer was not given"):
        layer({"verifier": "check_total"})
    with pytest.raises(GraphError, match="rounds must be a whole number"):
        layer({"verifier": "doctest", "rounds": -1})
    assert "verify" not in proposable_aggregators()


def test_a_spec_names_its_verifier_from_the_tools_module():
    spec = LayerSpec(name="sum", inputs=["items"], outputs=["total"], aggregator="verify",
                     options={"verifier": "check_total"}, agents=[AgentSpec(name="adder")])  # fmt: skip
    tool = Tool(check_total)
    [layer] = build_layers([spec], {"check_total": tool})
    assert layer.tools == [tool]
    with pytest.raises(ConfigError, match="graph.layers.0.options: unknown tool 'check_total'"):
        build_layers([spec], {})


def test_the_schema_verifier_checks_each_output_against_its_field():
    from types import SimpleNamespace

    from ann.spec import FieldSpec

    team = SimpleNamespace(layer=SimpleNamespace(outputs=["amount", "label", "note"]),
                           types={"amount": FieldSpec(type="number")}, choices={"label": ["a", "b"]})  # fmt: skip
    check = verifiers.SchemaVerifier().check
    fits = asyncio.run(check(team, {"amount": 12.5, "label": "a", "note": "ok"}))
    assert fits == (1.0, "every output fits its field")
    score, message = asyncio.run(check(team, {"amount": "twelve", "label": "c", "note": " "}))
    assert score == 0.0
    assert message.startswith("amount must be a number") and "label " in message and "note is empty" in message
    score, message = asyncio.run(check(team, {"amount": "3", "label": "b", "note": ""}))
    assert (score, message) == (2 / 3, "note is empty")


def test_a_docstring_doctest_refuses_as_a_whole_still_gives_its_readable_examples():
    # HumanEval/51: "\n" in a non-raw docstring is a real newline, so one example loses its
    # indentation and doctest.DocTestParser refuses the whole docstring (this crashed a verify run).
    from ann.layers.doctests import find_examples

    stub = (
        "def remove_vowels(text):\n"
        '    """Drop vowels.\n'
        "    >>> remove_vowels('')\n"
        "    ''\n"
        '    >>> remove_vowels("abcdef\\nghijklm")\n'
        "    'bcdf\\nghjklm'\n"
        "    >>> remove_vowels('aaBAA')\n"
        "    'B'\n"
        '    """\n'
    )
    found = find_examples({"prompt": stub})
    assert [e.source.strip() for e in found.examples] == ["remove_vowels('')", "remove_vowels('aaBAA')"]
    assert found.entry_point == "remove_vowels"
