"""single: one agent answers; its answer is the layer's output."""

from __future__ import annotations

from ann.layers.base import Aggregator, LayerOutcome, TeamRun, usable


class Single(Aggregator):
    name = "single"
    max_agents = 1

    async def run(self, team: TeamRun) -> LayerOutcome:
        # The first agent alone (a router may choose 'single' for a larger team).
        candidates = [await team.answer(team.layer.agents[0])]
        chosen = usable(candidates, team.layer.name)[0]
        return LayerOutcome(outputs=dict(chosen.outputs or {}), candidates=candidates, decision="single agent")
