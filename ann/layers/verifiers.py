"""Verifiers: what a verify layer checks each candidate with.

A verifier sees the layer's input values and one candidate's outputs — nothing of the example's
expected values — and returns a score in [0, 1] and a short message saying why. Kinds:

* ``doctest``: runs the candidate's code against the ``>>>`` examples in the layer's inputs
  (`ann.layers.doctests`), in the sandbox; score = the fraction of examples that pass.
* ``llm``: a verifier agent grades the candidate from 0 to 10 (its instructions are a param).
* any other name: a function of the spec's tools module (see `ToolVerifier`).
* ``schema``: each output against its field's declared type, pattern and choices (`ann.field_types`);
  score = the fraction of outputs that fit. Replies are already parsed against their types, so this
  matters most for agents with tools, which are not held to types, and for empty answers.
"""

from __future__ import annotations

import asyncio
import json
import math
from abc import ABC, abstractmethod
from typing import Any

from ann.agent import Agent
from ann.field_types import value_problem
from ann.layers.base import Candidate, TeamRun
from ann.layers.candidates import candidate_text
from ann.layers.prompts import ANSWER_DESCRIPTION, ANSWER_FIELD, REVIEW_FIELD, REVIEW_SCORE, REVIEW_TEXT
from ann.layers.refine import SCORE_FIELD, review_score
from ann.spec import FieldSpec

# The verifier kinds that are not tool names.
BUILT_IN = ("doctest", "llm", "schema")


class Verifier(ABC):
    """Scores one candidate from the layer's input values (``team.values``) and its outputs."""

    @abstractmethod
    async def check(self, team: TeamRun, outputs: dict[str, Any]) -> tuple[float, str]:
        """The candidate's score in [0, 1] and a short message saying why.

        Raises:
            ParseError: The verifier's own reply was unreadable (the layer scores it 0).
        """


class DoctestVerifier(Verifier):
    """Runs the code in the layer's first output against the docstring examples of its inputs."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    async def check(self, team: TeamRun, outputs: dict[str, Any]) -> tuple[float, str]:
        # Loaded on first check: every graph build imports the team types, few run doctests.
        from ann.datasets.sandbox import run_python
        from ann.layers.doctests import doctest_program, doctest_score, find_examples

        found = find_examples(team.values)
        program = doctest_program(str(outputs.get(team.layer.outputs[0], "")), found)
        result = await asyncio.to_thread(run_python, program, timeout_s=self.timeout_s)
        return doctest_score(result, found, timeout_s=self.timeout_s)


class ToolVerifier(Verifier):
    """A function of the spec's tools module, called as ``fn(**inputs, **outputs)``.

    It gets the layer's input values and the candidate's output values as keyword arguments —
    only those its signature names, or all of them when it takes ``**kwargs`` — and returns a
    score in [0, 1] (a bool counts as 1 or 0) or a ``(score, message)`` pair. An exception, a
    timeout (the tool's ``timeout_s``) or any other return value scores 0, with the reason.

    Example:
        >>> def check_total(items: str, total: str) -> tuple[float, str]:
        ...     right = sum(map(float, items.split(","))) == float(total)
        ...     return (1.0, "adds up") if right else (0.0, f"the items add up to another total than {total}")
    """

    def __init__(self, name: str) -> None:
        self.name = name

    async def check(self, team: TeamRun, outputs: dict[str, Any]) -> tuple[float, str]:
        tool = next(tool for tool in team.layer.tools if tool.name == self.name)  # Layer.check made sure
        values = {**team.values, **outputs}
        if not tool.spec.has_kwargs:
            values = {name: value for name, value in values.items() if name in tool.spec.args}
        result = await tool.call(values)
        if not result.ok:
            return 0.0, f"verifier {self.name} failed: {result.output}"
        return tool_verdict(result.output)


def tool_verdict(output: str) -> tuple[float, str]:
    """A tool verifier's returned value (as `Tool.call` serialised it) as a score and message."""
    try:
        value = json.loads(output)
    except ValueError:
        value = output
    score, message = value if isinstance(value, list) and len(value) == 2 else (value, "")
    if isinstance(score, bool):
        score = float(score)
    if not isinstance(score, int | float) or not math.isfinite(score) or not 0 <= score <= 1:
        return 0.0, f"the verifier returned {output[:100]!r}; expected a score in [0, 1] or (score, message)"
    return float(score), str(message)


class SchemaVerifier(Verifier):
    """Checks each output against its field's type, pattern and choices; an empty output fails."""

    async def check(self, team: TeamRun, outputs: dict[str, Any]) -> tuple[float, str]:
        problems = []
        for name in team.layer.outputs:
            value = outputs.get(name)
            field = team.types.get(name) or FieldSpec(choices=team.choices.get(name))
            problem = "is empty" if value is None or str(value).strip() == "" else value_problem(value, field)
            if problem:
                problems.append(f"{name} {problem}")
        fits = len(team.layer.outputs) - len(problems)
        return fits / len(team.layer.outputs), "; ".join(problems) or "every output fits its field"


class LLMVerifier(Verifier):
    """A verifier agent grades the candidate from 0 to 10, like refine's reviewer; score = grade / 10."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    async def check(self, team: TeamRun, outputs: dict[str, Any]) -> tuple[float, str]:
        answer = candidate_text(Candidate("checked", 0, outputs), team.layer.outputs)
        reply = await team.ask(
            self.agent, {**team.values, ANSWER_FIELD: answer},
            inputs=[*team.layer.inputs, ANSWER_FIELD], outputs=[SCORE_FIELD, REVIEW_FIELD], purpose="verify",
            descriptions={ANSWER_FIELD: ANSWER_DESCRIPTION, SCORE_FIELD: REVIEW_SCORE, REVIEW_FIELD: REVIEW_TEXT},
        )  # fmt: skip
        return review_score(str(reply[SCORE_FIELD])) / 10, str(reply[REVIEW_FIELD])


def make_verifier(kind: str, *, timeout_s: float, agent: Agent | None) -> Verifier:
    """The verifier ``kind`` names (``agent`` is the llm verifier's agent)."""
    if kind == "doctest":
        return DoctestVerifier(timeout_s)
    if kind == "llm" and agent is not None:
        return LLMVerifier(agent)
    if kind == "schema":
        return SchemaVerifier()
    return ToolVerifier(kind)
