"""route: per input, a cheap router call picks which team type the layer runs.

The ANN forward pass chooses the aggregation function per layer and per input
(DynamicRoutingSelect). Here the candidates are team types over the layer's agents; the router
follows a trainable routing rule, its reply is constrained to the candidates, and the choice is
recorded in the trace (and critiqued by the backward pass like any team-type text).
"""

from __future__ import annotations

from collections.abc import Iterator

from ann.agent import Agent
from ann.errors import GraphError, ParseError
from ann.layers.base import Aggregator, LayerOutcome, TeamRun
from ann.layers.prompts import (
    DEFAULT_ROUTING,
    ROUTER_ROLE,
    ROUTING_DESCRIPTION,
    ROUTING_FIELD,
    TEAM_DESCRIPTION,
    TEAM_FIELD,
    TEAMS_DESCRIPTION,
    TEAMS_FIELD,
)
from ann.params import Param


class Route(Aggregator):
    name = "route"
    defaults = {"teams": ["single", "vote"], "rule": DEFAULT_ROUTING}

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        from ann.layers.registry import AGGREGATORS  # the registry lists this class too

        teams = self.options["teams"]
        if not isinstance(teams, list) or len(teams) < 2 or any(t not in AGGREGATORS or t == "route" for t in teams):
            raise GraphError(f"route: teams must list two or more team types from {sorted(AGGREGATORS)}, got {teams!r}")
        self.teams: dict[str, Aggregator] = {name: AGGREGATORS[name]() for name in teams}
        self.texts = {"rule": Param(str(self.options["rule"]), description="the router's rule for choosing a team type",
                                    kind="instructions")}  # fmt: skip
        self.router = Agent("router", role=ROUTER_ROLE)
        self.agents = [self.router]
        # 'single' runs the first agent of any team; the other team types bound the team size.
        self.min_agents = max(t.min_agents for t in self.teams.values())
        limits = [t.max_agents for n, t in self.teams.items() if t.max_agents is not None and n != "single"]
        self.max_agents = min(limits) if limits else None

    def named_parameters(self) -> Iterator[tuple[str, Param]]:
        yield from super().named_parameters()
        for team_name, team_type in self.teams.items():
            for name, param in team_type.named_parameters():
                yield f"{team_name}.{name}", param

    async def run(self, team: TeamRun) -> LayerOutcome:
        names = list(self.teams)
        described = {ROUTING_FIELD: ROUTING_DESCRIPTION, TEAMS_FIELD: TEAMS_DESCRIPTION, TEAM_FIELD: TEAM_DESCRIPTION}
        values = {**team.values, ROUTING_FIELD: self.texts["rule"].value, TEAMS_FIELD: ", ".join(names)}
        try:
            reply = await team.ask(
                self.router, values, inputs=[*team.layer.inputs, ROUTING_FIELD, TEAMS_FIELD], outputs=[TEAM_FIELD],
                purpose="route", descriptions=described, choices={TEAM_FIELD: names},
            )  # fmt: skip
            chosen, why = str(reply[TEAM_FIELD]), "router"
        except ParseError as exc:
            chosen, why = names[0], f"router failed ({exc}); default"
        outcome = await self.teams[chosen].run(team)
        outcome.decision = f"routed to {chosen} ({why}): {outcome.decision}"
        return outcome
