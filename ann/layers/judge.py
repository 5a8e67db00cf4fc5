"""judge: every member answers, then an LLM judge picks the best candidate.

If the judge's reply names no valid candidate, the layer falls back to a majority vote and says
so in its decision, so a confused judge costs accuracy, never the run.
"""

from __future__ import annotations

import re

from ann.agent import Agent
from ann.errors import ParseError
from ann.layers.base import Aggregator, LayerOutcome, TeamRun, usable
from ann.layers.candidates import numbered
from ann.layers.prompts import (
    CANDIDATES_DESCRIPTION,
    CANDIDATES_FIELD,
    JUDGE_INSTRUCTIONS,
    JUDGE_OUTPUT,
    JUDGE_ROLE,
)
from ann.layers.vote import majority

JUDGE_FIELD = "best"


def parse_choice(text: str, count: int) -> int:
    """The 1-based candidate number in a judge's reply.

    Raises:
        ParseError: No number from 1 to ``count`` appears in the reply.
    """
    for match in re.findall(r"\d+", text):
        if 1 <= int(match) <= count:
            return int(match)
    raise ParseError(f"judge named no candidate between 1 and {count}: {text[:80]!r}", raw=text)


class Judge(Aggregator):
    name = "judge"

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.judge = Agent("judge", role=JUDGE_ROLE, instructions=JUDGE_INSTRUCTIONS)
        self.agents = [self.judge]

    def judge_values(self) -> dict[str, str]:
        """Extra inputs the judge sees (best_of_n adds its rubric)."""
        return {}

    def judge_descriptions(self) -> dict[str, str]:
        return {}

    async def run(self, team: TeamRun) -> LayerOutcome:
        candidates = await team.answer_all()
        good = usable(candidates, team.layer.name)
        if len(good) == 1:
            return LayerOutcome(
                outputs=dict(good[0].outputs or {}), candidates=candidates, decision="only one usable candidate"
            )
        values = {**team.values, **self.judge_values(), CANDIDATES_FIELD: numbered(good, team.layer.outputs)}
        described = {**self.judge_descriptions(), CANDIDATES_FIELD: CANDIDATES_DESCRIPTION, JUDGE_FIELD: JUDGE_OUTPUT}
        try:
            reply = await team.ask(
                self.judge,
                values,
                inputs=[*team.layer.inputs, *self.judge_values(), CANDIDATES_FIELD],
                outputs=[JUDGE_FIELD],
                purpose="judge",
                descriptions=described,
            )
            choice = parse_choice(str(reply[JUDGE_FIELD]), len(good))
        except ParseError as exc:
            winner, why = majority(good, team.layer.outputs[0])
            return LayerOutcome(
                outputs=dict(winner.outputs or {}), candidates=candidates, decision=f"judge failed ({exc}); vote: {why}"
            )
        chosen = good[choice - 1]
        return LayerOutcome(
            outputs=dict(chosen.outputs or {}),
            candidates=candidates,
            decision=f"judge chose candidate {choice} of {len(good)} (agent {chosen.agent})",
        )
