"""from_dspy: DSPy programs (objects and saved JSON) become ann graphs with trainable texts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import dspy
import pytest

import ann
from ann.errors import ConfigError
from ann.interop import export_dspy, from_dspy
from ann.testing.scripted_lm import ScriptedLM


class QA(dspy.Signature):
    """Answer the trivia question in a few words."""

    question: str = dspy.InputField(desc="a trivia question")
    answer: str = dspy.OutputField(desc="a short answer")


class DraftThenPolish(dspy.Module):
    def __init__(self) -> None:
        super().__init__()
        self.draft = dspy.Predict("question -> draft")
        self.polish = dspy.ChainOfThought("question, draft -> answer")

    def forward(self, question: str) -> dspy.Prediction:
        draft = self.draft(question=question).draft
        return self.polish(question=question, draft=draft)


def qa_with_demo() -> dspy.Predict:
    program = dspy.Predict(QA)
    program.demos = [dspy.Example(question="Capital of France?", answer="Paris").with_inputs("question")]
    return program


def test_a_predict_becomes_one_layer_with_its_texts_as_trainable_params(scripted: Any) -> None:
    graph = ann.from_dspy(qa_with_demo())

    assert (graph.inputs, graph.outputs, graph.order) == (["question"], ["answer"], ["predict"])
    assert graph.fields == {"question": "a trivia question", "answer": "a short answer"}
    params = dict(graph.named_parameters())
    assert params["predict.agent.instructions"].value == "Answer the trivia question in a few words."
    assert json.loads(params["predict.agent.demos"].value) == [{"question": "Capital of France?", "answer": "Paris"}]
    assert params["predict.agent.instructions"].trainable and params["predict.agent.demos"].trainable

    client = scripted(lambda messages: "Rome")
    assert graph(question="Capital of Italy?", lm=client).outputs == {"answer": "Rome"}
    messages = client.dspy_lm.requests[0]["messages"]
    assert messages[0]["content"].startswith("Answer the trivia question in a few words.")
    assert "(a short answer)" in messages[0]["content"]
    assert messages[1:] == [
        {"role": "user", "content": "Capital of France?"},  # the demo, as a turn
        {"role": "assistant", "content": "Paris"},
        {"role": "user", "content": "Capital of Italy?"},
    ]


def test_chain_of_thought_reasoning_is_an_output_asked_for_before_the_answer(scripted: Any) -> None:
    graph = from_dspy(dspy.ChainOfThought(QA))

    assert graph.layers["predict"].outputs == ["reasoning", "answer"]
    assert graph.outputs == ["answer"]
    client = scripted(lambda messages: '{"reasoning": "Rome is the capital.", "answer": "Rome"}')
    assert graph(question="Capital of Italy?", lm=client).outputs == {"answer": "Rome"}
    system = client.dspy_lm.requests[0]["messages"][0]["content"]
    assert system.index('"reasoning"') < system.index('"answer"')


def test_a_module_chains_its_predictors_by_field_name(scripted: Any) -> None:
    graph = from_dspy(DraftThenPolish())

    assert graph.order == ["draft", "polish"]
    assert (graph.inputs, graph.outputs) == (["question"], ["answer"])
    assert graph.layers["polish"].inputs == ["question", "draft"]

    def reply(messages: list[dict[str, str]]) -> str:
        if "produce the fields `draft`" in messages[0]["content"]:
            return "rome?"
        assert "Draft:\nrome?" in messages[-1]["content"]  # the draft reached the second predictor
        return '{"reasoning": "capitalise it", "answer": "Rome"}'

    assert graph(question="Capital of Italy?", lm=scripted(reply)).outputs == {"answer": "Rome"}


def test_literal_outputs_become_choices() -> None:
    signature = dspy.Signature(
        {"text": (str, dspy.InputField()), "label": (Literal["spam", "ham"], dspy.OutputField())}, "Classify."
    )
    assert from_dspy(dspy.Predict(signature)).choices == {"label": ["spam", "ham"]}


def test_predictors_whose_fields_do_not_connect_are_refused() -> None:
    class Unconnected(dspy.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = dspy.Predict("question -> draft")
            self.second = dspy.Predict("context -> answer")

    with pytest.raises(ConfigError, match="predictor 'second' reads none of the fields"):
        from_dspy(Unconnected())


def test_a_saved_program_is_read_as_json(tmp_path: Path) -> None:
    program = DraftThenPolish()
    program.polish.predict.demos = [{"question": "q", "draft": "d", "reasoning": "r", "answer": "a", "augmented": True}]
    program.save(str(tmp_path / "program.json"))

    graph = from_dspy(tmp_path / "program.json")

    assert graph.name == "program"
    assert graph.order == ["draft", "polish"]
    assert (graph.inputs, graph.outputs) == (["question"], ["answer"])
    assert graph.layers["polish"].outputs == ["reasoning", "answer"]
    assert json.loads(graph.layers["polish"].agents[0].demos.value) == [
        {"question": "q", "draft": "d", "reasoning": "r", "answer": "a"}  # DSPy's bookkeeping key dropped
    ]


def test_a_saved_program_with_custom_instructions_needs_its_inputs_named(tmp_path: Path) -> None:
    dspy.Predict(QA).save(str(tmp_path / "qa.json"))

    with pytest.raises(ConfigError, match=r"pass from_dspy\(\.\.\., inputs=\[\.\.\.\]\)"):
        from_dspy(tmp_path / "qa.json")
    graph = from_dspy(tmp_path / "qa.json", inputs=["question"])
    assert (graph.inputs, graph.outputs) == (["question"], ["answer"])
    assert graph.layers["predict"].agents[0].instructions.value == "Answer the trivia question in a few words."


def test_a_pickle_or_a_file_that_is_no_program_is_refused(tmp_path: Path) -> None:
    (tmp_path / "program.pkl").write_bytes(b"\x80\x04.")
    with pytest.raises(ConfigError, match="pickled program is not read"):
        from_dspy(tmp_path / "program.pkl")
    (tmp_path / "other.json").write_text('{"predict": {"demos": []}}')
    with pytest.raises(ConfigError, match="not a DSPy predictor state"):
        from_dspy(tmp_path / "other.json")


def _exported(graph: ann.Graph) -> dspy.Module:
    namespace: dict[str, Any] = {}
    exec(compile(export_dspy(graph), "exported.py", "exec"), namespace)  # noqa: S102 - our own generated file
    return namespace["Program"]()


def _predictors(program: dspy.Module) -> list[tuple[str, list[str], list[str], list[dict[str, Any]]]]:
    """What must survive a round trip: each predictor's instructions, fields and demos."""
    return [
        (
            predict.signature.instructions,
            list(predict.signature.input_fields),
            list(predict.signature.output_fields),
            [{k: v for k, v in dict(demo).items() if k in predict.signature.fields} for demo in predict.demos],
        )
        for _, predict in program.named_predictors()
    ]


def test_import_then_export_gives_back_the_same_program() -> None:
    original = DraftThenPolish()
    original.draft.signature = original.draft.signature.with_instructions("Guess an answer fast.")
    original.polish.predict.demos = [dspy.Example(question="q", draft="d", reasoning="r", answer="a")]

    round_tripped = _exported(from_dspy(original))

    assert _predictors(round_tripped) == _predictors(original)
    lm = ScriptedLM(lambda m: "rome?" if "Guess" in m[0]["content"] else '{"reasoning": "r", "answer": "Rome"}')
    with dspy.context(lm=lm):
        assert round_tripped(question="Capital of Italy?").answer == "Rome"


def test_two_chains_of_thought_keep_their_reasoning_apart() -> None:
    class TwoSteps(dspy.Module):
        def __init__(self) -> None:
            super().__init__()
            self.plan = dspy.ChainOfThought("question -> plan")
            self.solve = dspy.ChainOfThought("question, plan -> answer")

    graph = from_dspy(TwoSteps())

    assert graph.layers["plan"].outputs == ["reasoning", "plan"]
    assert graph.layers["solve"].outputs == ["solve_reasoning", "answer"]
    assert graph.outputs == ["answer"]
