"""debate: agents answer, then for ``rounds`` rounds each sees the others' answers and may revise;
a normalised majority of the last round decides (multi-agent debate, Du et al. 2023)."""

from __future__ import annotations

from ann.errors import ParseError
from ann.layers.base import Aggregator, Candidate, LayerOutcome, TeamRun, usable
from ann.layers.candidates import candidate_text
from ann.layers.prompts import PEER_ANSWER, PEERS_DESCRIPTION, PEERS_FIELD
from ann.layers.vote import majority
from ann.render import render
from ann.tasks import gather_all


class Debate(Aggregator):
    name = "debate"
    min_agents = 2
    defaults = {"rounds": 1}

    async def run(self, team: TeamRun) -> LayerOutcome:
        rounds = int(self.options["rounds"])
        current = await team.answer_all()
        history = list(current)
        for round_number in range(1, rounds + 1):
            current = list(await gather_all(*(self._revise(team, c, current, round_number) for c in current)))
            history.extend(current)
        winner, why = majority(usable(current, team.layer.name), team.layer.outputs[0])
        return LayerOutcome(
            outputs=dict(winner.outputs or {}),
            candidates=history,
            decision=f"after {rounds} debate round{'s' if rounds != 1 else ''}: {why}",
        )

    async def _revise(self, team: TeamRun, mine: Candidate, everyone: list[Candidate], round_number: int) -> Candidate:
        agent = next(a for a in team.layer.agents if a.name == mine.agent)
        peers = "\n".join(
            render(PEER_ANSWER, agent=c.agent, text=candidate_text(c, team.layer.outputs))
            for c in everyone
            if c is not mine and c.outputs is not None
        )
        try:
            outputs = await team.ask(
                agent,
                {**team.values, PEERS_FIELD: peers or "(none)"},
                inputs=[*team.layer.inputs, PEERS_FIELD],
                outputs=team.layer.outputs,
                sample=mine.sample,
                purpose=f"debate round {round_number}",
                descriptions={PEERS_FIELD: PEERS_DESCRIPTION},
            )
        except ParseError as exc:
            # A revision that fails keeps the agent's previous answer in the debate.
            return Candidate(agent=mine.agent, sample=mine.sample, outputs=mine.outputs, error=str(exc))
        return Candidate(agent=mine.agent, sample=mine.sample, outputs=outputs)
