"""Param: a piece of text the optimizer may rewrite — the "weights" of an agentic network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class HistoryEntry:
    """One accepted value of a param and why it was accepted: its provenance.

    Attributes:
        value: The text.
        score: The validation score it earned (None for the starting value, before scoring).
        step: The training step that proposed it.
        gradient: The textual gradient (the feedback) the rewrite answered.
        evidence: What validation said: ``val_before`` and ``val_after`` (mean scores of the incumbent
            and of the change) and the gate's paired verdict (``wins``, ``losses``, ``ties``,
            ``p_value``, ``reason``); a dict so a checkpoint stores it as JSON as it is.
    """

    value: str
    score: float | None = None
    step: int | None = None
    gradient: str | None = None
    evidence: dict[str, Any] | None = None


class Param:
    """A trainable text: a role, instructions, a tool doc, or a choice such as an aggregator.

    Args:
        value: The current text.
        description: What the text is for; shown to the optimizer in every rewrite prompt.
        trainable: Whether the optimizer may change it.
        kind: What sort of text it is — ``role``, ``instructions``, ``task``, ``choice`` or
            ``text`` — so the optimizer can reject a rewrite that is not of its kind (code
            where instructions belong, a paragraph where a role belongs).

    Example:
        >>> p = Param("Solve the problem step by step.", description="instructions of the solver")
        >>> p.value
        'Solve the problem step by step.'
    """

    def __init__(self, value: str, *, description: str, trainable: bool = True, kind: str = "text") -> None:
        if not isinstance(value, str):
            raise TypeError(f"Param value must be a str, got {type(value).__name__}: {value!r}")
        if not description or not description.strip():
            raise ValueError("Param needs a non-empty description saying what the text is for")
        self.value = value
        self.description = description
        self.trainable = trainable
        self.kind = kind
        self.grads: list[str] = []
        self.history: list[HistoryEntry] = [HistoryEntry(value=value)]

    def __repr__(self) -> str:
        flag = "" if self.trainable else ", trainable=False"
        return f"Param({self.value!r}, description={self.description!r}{flag})"
