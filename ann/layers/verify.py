"""verify: candidates are checked by a verifier, the best-verified one wins.

The team answers (agents x samples). A verifier (`ann.layers.verifiers`: ``doctest``, ``llm`` or
a tool function) scores each candidate in [0, 1] with a message, concurrently. For up to
``rounds`` rounds, each candidate scoring below 1 is revised by its own agent, shown its previous
answer and the verifier's message (Reflexion, Shinn et al. 2023), and checked again. The highest
score among all checked answers wins; a tie goes to a majority vote among the tied answers.
A verifier that fails scores 0 with the reason as its message; each verdict is kept with its
candidate in the trace, so the backward pass sees what the checks found.
"""

from __future__ import annotations

import time
from typing import Any

from ann.agent import Agent
from ann.errors import GraphError, ParseError
from ann.layers.base import Aggregator, Candidate, LayerOutcome, TeamRun, Verdict, usable
from ann.layers.candidates import candidate_text
from ann.layers.prompts import (
    CHECK_DESCRIPTION,
    CHECK_FIELD,
    CHECK_RESULT,
    PREVIOUS_DESCRIPTION,
    PREVIOUS_FIELD,
    VERIFIER_INSTRUCTIONS,
    VERIFIER_ROLE,
)
from ann.layers.verifiers import BUILT_IN, Verifier, make_verifier
from ann.layers.vote import majority
from ann.render import render
from ann.tasks import gather_all


class Verify(Aggregator):
    name = "verify"
    defaults = {"verifier": None, "rounds": 0, "timeout_s": 10.0}
    proposable = False  # an edit picks a team type without options, and verify needs its verifier

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        kind, rounds, timeout_s = self.options["verifier"], self.options["rounds"], self.options["timeout_s"]
        if not isinstance(kind, str) or not kind:
            raise GraphError(
                f"verify: verifier must be doctest, llm or a function of the spec's tools module, got {kind!r}"
            )
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
            raise GraphError(f"verify: rounds must be a whole number >= 0, got {rounds!r}")
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or not timeout_s > 0:
            raise GraphError(f"verify: timeout_s must be a positive number of seconds, got {timeout_s!r}")
        if kind == "llm":
            self.agents = [Agent("verifier", role=VERIFIER_ROLE, instructions=VERIFIER_INSTRUCTIONS)]
        self.verifier: Verifier = make_verifier(kind, timeout_s=float(timeout_s), agent=next(iter(self.agents), None))

    @classmethod
    def tool_names(cls, options: dict[str, Any]) -> list[str]:
        kind = options.get("verifier")
        return [kind] if isinstance(kind, str) and kind and kind not in BUILT_IN else []

    async def run(self, team: TeamRun) -> LayerOutcome:
        candidates = await team.answer_all()
        latest = usable(candidates, team.layer.name)
        await self._check(team, latest)
        checked, notes = list(latest), [f"{self.options['verifier']} scores {_scores(latest)}"]
        for round_number in range(1, int(self.options["rounds"]) + 1):
            failing = [i for i, c in enumerate(latest) if _score(c) < 1]
            if not failing:
                break
            revisions = await gather_all(*(self._revise(team, latest[i], round_number) for i in failing))
            revised = {i: c for i, c in zip(failing, revisions, strict=True) if c is not None}
            new = list(revised.values())
            await self._check(team, new)
            latest = [revised.get(i, c) for i, c in enumerate(latest)]
            checked += new
            candidates += new
            notes.append(f"round {round_number} revised {len(new)}: {_scores(new)}")
        winner, why = _choose(checked, team.layer.outputs[0])
        return LayerOutcome(dict(winner.outputs or {}), candidates, "; ".join([*notes, why]))

    async def _check(self, team: TeamRun, candidates: list[Candidate]) -> None:
        """Give each candidate its verdict, checking them all at once."""
        verdicts = await gather_all(*(self._verdict(team, c.outputs or {}) for c in candidates))
        for candidate, verdict in zip(candidates, verdicts, strict=True):
            candidate.verdict = verdict

    async def _verdict(self, team: TeamRun, outputs: dict[str, Any]) -> Verdict:
        started = time.perf_counter()
        try:
            score, message = await self.verifier.check(team, outputs)
        except ParseError as exc:
            score, message = 0.0, f"the verifier's reply was unreadable: {exc}"
        return Verdict(score, message, time.perf_counter() - started)

    async def _revise(self, team: TeamRun, candidate: Candidate, round_number: int) -> Candidate | None:
        """The candidate's agent answers again, shown its answer and what the check found; None if unreadable."""
        agent = next(agent for agent in team.layer.agents if agent.name == candidate.agent)
        values = {
            **team.values, PREVIOUS_FIELD: candidate_text(candidate, team.layer.outputs),
            CHECK_FIELD: render(CHECK_RESULT, message=candidate.verdict.message if candidate.verdict else ""),
        }  # fmt: skip
        try:
            revised = await team.ask(
                agent, values, inputs=[*team.layer.inputs, PREVIOUS_FIELD, CHECK_FIELD],
                outputs=team.layer.outputs, sample=candidate.sample, purpose=f"revise round {round_number}",
                descriptions={PREVIOUS_FIELD: PREVIOUS_DESCRIPTION, CHECK_FIELD: CHECK_DESCRIPTION},
            )  # fmt: skip
        except ParseError:
            return None
        return Candidate(candidate.agent, candidate.sample, revised)


def _choose(checked: list[Candidate], field: str) -> tuple[Candidate, str]:
    """The highest-scoring candidate and why; a tie goes to a vote among the tied ones."""
    best = max(_score(c) for c in checked)
    tied = [c for c in checked if _score(c) == best]
    if len(tied) == 1:
        winner, how = tied[0], "the only one"
    else:
        winner, vote = majority(tied, field)
        how = f"a tie among {len(tied)}, broken by vote: {vote}"
    message = winner.verdict.message if winner.verdict is not None else ""
    return winner, f"chose agent {winner.agent} with {best:.2g} ({how}): {message}"


def _score(candidate: Candidate) -> float:
    return candidate.verdict.score if candidate.verdict is not None else 0.0


def _scores(candidates: list[Candidate]) -> str:
    return ", ".join(f"{_score(c):.2g}" for c in candidates)
