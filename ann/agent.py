"""Agent: one LLM call per forward step, framed by its role and instructions (both trainable)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from ann.params import Param
from ann.prompts import AGENT_ROLE
from ann.render import render

if TYPE_CHECKING:
    import dspy  # imported where a signature is built: it takes seconds, and `ann show` builds none

    from ann.spec import FieldSpec

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_name(kind: str, name: str) -> None:
    """Names become dotted parameter paths and file keys, so they must be simple identifiers."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{kind} name {name!r} is invalid: use letters, digits and '_', starting with a letter or '_'")


class Agent:
    """One member of a layer's team: a role and instructions that frame one LLM call.

    Args:
        name: Unique within its layer; used in parameter names (``solve.alice.instructions``).
        role: Who the agent is, as a noun phrase ("a careful math tutor"). Trainable.
        instructions: How it does its part of the task. Trainable.
        tools: ``ann.tools.Tool`` objects the agent may call (their docs are trainable too).

    Example:
        >>> Agent("solver", role="a careful math tutor", instructions="Work step by step.")
    """

    def __init__(self, name: str, role: str = "", instructions: str = "", *, tools: list[Any] | None = None) -> None:
        check_name("agent", name)
        self.name = name
        self.tools: list[Any] = list(tools or [])  # ann.tools.Tool; the agent then runs a tool loop
        self.role = Param(
            role, description=f"the role of agent '{name}': who it is, as a short noun phrase", kind="role"
        )
        self.instructions = Param(
            instructions,
            description=f"the instructions of agent '{name}': how it does its part of the task",
            kind="instructions",
        )
        # Worked examples shown before the input (JSON list of field dicts); learned from solved
        # training runs by ANNOptimizer(demos=k), kept only when validation rises.
        self.demos = Param("[]", description=f"worked examples shown to agent '{name}'", kind="demos")

    def named_parameters(self) -> Iterator[tuple[str, Param]]:
        yield "role", self.role
        yield "instructions", self.instructions
        yield "demos", self.demos
        for tool in self.tools:
            for name, param in tool.named_parameters():
                yield f"tools.{tool.name}.{name}", param

    def demo_examples(self) -> list[dict[str, Any]]:
        """The demos as field dicts (an unreadable value counts as none)."""
        try:
            demos = json.loads(self.demos.value or "[]")
        except json.JSONDecodeError:
            return []
        return [demo for demo in demos if isinstance(demo, dict)] if isinstance(demos, list) else []

    def task_text(self) -> str:
        """The agent's part of the system message: its role line, then its instructions."""
        role = self.role.value.strip().rstrip(".")
        parts = [render(AGENT_ROLE, role=role)] if role else []
        if self.instructions.value.strip():
            parts.append(self.instructions.value.strip())
        return "\n\n".join(parts)

    def signature(
        self,
        inputs: list[str],
        outputs: list[str],
        descriptions: dict[str, str] | None = None,
        choices: dict[str, list[str]] | None = None,
        types: dict[str, FieldSpec] | None = None,
    ) -> type[dspy.Signature]:
        """The DSPy signature of this agent's call inside a layer with these fields.

        An output with ``choices`` is typed ``Literal[...]``, one with a declared type gets its
        annotation (``float``, ``datetime.date``, …; see `ann.field_types.annotation`), so the reply
        is constrained to them.
        """
        from ann.field_types import annotation

        described = tuple(sorted((descriptions or {}).items()))
        annotated = {name: annotation(field) for name, field in (types or {}).items() if name in outputs}
        annotated.update((name, Literal[tuple(values)]) for name, values in (choices or {}).items() if name in outputs)
        ordered = tuple((name, annotated[name]) for name in sorted(annotated))
        return _make_signature(self.task_text(), tuple(inputs), tuple(outputs), described, ordered)

    def __repr__(self) -> str:
        return f"Agent({self.name!r}, role={self.role.value!r})"


@lru_cache(maxsize=1024)
def _make_signature(
    instructions: str,
    inputs: tuple[str, ...],
    outputs: tuple[str, ...],
    described: tuple[tuple[str, str], ...],
    annotated: tuple[tuple[str, Any], ...],
) -> type[dspy.Signature]:
    import dspy

    # Building a signature creates a pydantic model class; the same texts give the same class.
    desc = dict(described)
    annotations = dict(annotated)
    fields: dict[str, Any] = {}
    for name in inputs:
        fields[name] = (str, dspy.InputField(desc=desc.get(name, "")))
    for name in outputs:
        fields[name] = (annotations.get(name, str), dspy.OutputField(desc=desc.get(name, "")))
    # A single space keeps DSPy from inventing default instructions for an empty task text.
    return dspy.make_signature(fields, instructions or " ")
