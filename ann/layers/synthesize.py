"""synthesize: every member answers, then an LLM merges the candidates into one answer.

If the merge cannot be parsed, the layer falls back to a majority vote and says so.
"""

from __future__ import annotations

from ann.agent import Agent
from ann.errors import ParseError
from ann.layers.base import Aggregator, LayerOutcome, TeamRun, usable
from ann.layers.candidates import numbered
from ann.layers.prompts import (
    CANDIDATES_DESCRIPTION,
    CANDIDATES_FIELD,
    SYNTHESIZER_INSTRUCTIONS,
    SYNTHESIZER_ROLE,
)
from ann.layers.vote import majority


class Synthesize(Aggregator):
    name = "synthesize"

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.synthesizer = Agent("synthesizer", role=SYNTHESIZER_ROLE, instructions=SYNTHESIZER_INSTRUCTIONS)
        self.agents = [self.synthesizer]

    async def run(self, team: TeamRun) -> LayerOutcome:
        candidates = await team.answer_all()
        good = usable(candidates, team.layer.name)
        values = {**team.values, CANDIDATES_FIELD: numbered(good, team.layer.outputs)}
        try:
            merged = await team.ask(
                self.synthesizer,
                values,
                inputs=[*team.layer.inputs, CANDIDATES_FIELD],
                outputs=team.layer.outputs,
                purpose="synthesize",
                descriptions={CANDIDATES_FIELD: CANDIDATES_DESCRIPTION},
            )
        except ParseError as exc:
            winner, why = majority(good, team.layer.outputs[0])
            return LayerOutcome(
                outputs=dict(winner.outputs or {}), candidates=candidates, decision=f"merge failed ({exc}); vote: {why}"
            )
        return LayerOutcome(outputs=merged, candidates=candidates, decision=f"merged {len(good)} candidates")
