"""critique: an answer is checked against principles (a trainable constitution) and revised.

The layer's agent answers; a critic lists violations of the principles; while there are any
(up to ``rounds`` times), the same agent revises its answer with the critique in view.
"""

from __future__ import annotations

import re

from ann.agent import Agent
from ann.errors import ParseError
from ann.layers.base import Aggregator, Candidate, LayerOutcome, TeamRun, usable
from ann.layers.candidates import candidate_text
from ann.layers.prompts import (
    ANSWER_DESCRIPTION,
    ANSWER_FIELD,
    CRITIC_INSTRUCTIONS,
    CRITIC_ROLE,
    CRITIQUE_DESCRIPTION,
    CRITIQUE_FIELD,
    DEFAULT_PRINCIPLES,
    PRINCIPLES_DESCRIPTION,
    PRINCIPLES_FIELD,
)
from ann.params import Param

_NO_ISSUES = re.compile(r"\bno (issues?|violations?|problems?)\b", re.IGNORECASE)


class Critique(Aggregator):
    name = "critique"
    max_agents = 1
    defaults = {"principles": DEFAULT_PRINCIPLES, "rounds": 1}

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.texts = {
            "principles": Param(str(self.options["principles"]), kind="instructions",
                                description="the principles (constitution) every answer must follow"),
        }  # fmt: skip
        self.critic = Agent("critic", role=CRITIC_ROLE, instructions=CRITIC_INSTRUCTIONS)
        self.agents = [self.critic]

    async def run(self, team: TeamRun) -> LayerOutcome:
        candidates = await team.answer_all()
        current = usable(candidates, team.layer.name)[0]
        agent = team.layer.agents[0]
        described = {
            PRINCIPLES_FIELD: PRINCIPLES_DESCRIPTION, ANSWER_FIELD: ANSWER_DESCRIPTION,
            CRITIQUE_FIELD: CRITIQUE_DESCRIPTION,
        }  # fmt: skip
        notes = []
        for round_number in range(1, int(self.options["rounds"]) + 1):
            answer = candidate_text(current, team.layer.outputs)
            values = {**team.values, PRINCIPLES_FIELD: self.texts["principles"].value, ANSWER_FIELD: answer}
            try:
                review = await team.ask(
                    self.critic, values, inputs=[*team.layer.inputs, PRINCIPLES_FIELD, ANSWER_FIELD],
                    outputs=[CRITIQUE_FIELD], purpose=f"critique round {round_number}", descriptions=described,
                )  # fmt: skip
            except ParseError:
                notes.append("critic unparseable")
                break
            critique = str(review[CRITIQUE_FIELD])
            if _NO_ISSUES.search(critique):
                notes.append(f"round {round_number}: no issues")
                break
            try:
                revised = await team.ask(
                    agent, {**values, CRITIQUE_FIELD: critique},
                    inputs=[*team.layer.inputs, PRINCIPLES_FIELD, ANSWER_FIELD, CRITIQUE_FIELD],
                    outputs=team.layer.outputs, purpose=f"revise round {round_number}", descriptions=described,
                )  # fmt: skip
            except ParseError:
                notes.append(f"round {round_number}: revision unparseable")
                break
            current = Candidate(agent.name, round_number, revised)
            candidates.append(current)
            notes.append(f"round {round_number}: revised")
        return LayerOutcome(dict(current.outputs or {}), candidates, "; ".join(notes) or "no critique rounds")
