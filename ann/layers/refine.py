"""refine: solvers answer; easy inputs stop at a vote, hard ones go to a reviewer and a refiner.

After MAgICoRe (Chen et al. 2024): agreement among the solvers decides difficulty. If the
majority answer's share reaches ``threshold`` (a param), the input is easy and the vote stands.
Otherwise a reviewer scores the majority answer and a refiner fixes it, for up to
``max_rounds`` rounds or until the reviewer's score reaches ``accept_score``.
"""

from __future__ import annotations

import re

from ann.agent import Agent
from ann.errors import GraphError, ParseError
from ann.layers.base import Aggregator, Candidate, LayerOutcome, TeamRun, usable
from ann.layers.candidates import candidate_text
from ann.layers.prompts import (
    ANSWER_DESCRIPTION,
    ANSWER_FIELD,
    REFINER_INSTRUCTIONS,
    REFINER_ROLE,
    REVIEW_FIELD,
    REVIEW_SCORE,
    REVIEW_TEXT,
    REVIEWER_INSTRUCTIONS,
    REVIEWER_ROLE,
)
from ann.layers.vote import majority, vote_keys
from ann.params import Param

SCORE_FIELD = "score"


def review_score(text: str) -> float:
    """The reviewer's 0-10 score.

    Raises:
        ParseError: No number from 0 to 10 in the reply.
    """
    for match in re.findall(r"\d+(?:\.\d+)?", text):
        if 0 <= float(match) <= 10:
            return float(match)
    raise ParseError(f"reviewer gave no score from 0 to 10: {text[:80]!r}", raw=text)


class Refine(Aggregator):
    name = "refine"
    defaults = {"threshold": 0.67, "max_rounds": 2, "accept_score": 8}

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        try:
            threshold = float(self.options["threshold"])  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise GraphError(f"refine: threshold must be a number, got {self.options['threshold']!r}") from exc
        self.texts = {
            "threshold": Param(str(threshold), description="agreement at or above which an input is easy",
                               trainable=False, kind="number"),
        }  # fmt: skip
        self.reviewer = Agent("reviewer", role=REVIEWER_ROLE, instructions=REVIEWER_INSTRUCTIONS)
        self.refiner = Agent("refiner", role=REFINER_ROLE, instructions=REFINER_INSTRUCTIONS)
        self.agents = [self.reviewer, self.refiner]

    async def run(self, team: TeamRun) -> LayerOutcome:
        candidates = await team.answer_all()
        good = usable(candidates, team.layer.name)
        winner, why = majority(good, team.layer.outputs[0])
        keys = vote_keys([str((c.outputs or {}).get(team.layer.outputs[0], "")) for c in good])
        agreement = keys.count(keys[good.index(winner)]) / len(good)
        threshold = float(self.texts["threshold"].value)
        if agreement >= threshold:
            return LayerOutcome(dict(winner.outputs or {}), candidates, f"easy (agreement {agreement:.2f}): {why}")
        return await self._refine(team, candidates, winner, agreement)

    async def _refine(
        self, team: TeamRun, candidates: list[Candidate], winner: Candidate, agreement: float
    ) -> LayerOutcome:
        current = dict(winner.outputs or {})
        scores: list[str] = []
        described = {ANSWER_FIELD: ANSWER_DESCRIPTION, SCORE_FIELD: REVIEW_SCORE, REVIEW_FIELD: REVIEW_TEXT}
        for round_number in range(1, int(self.options["max_rounds"]) + 1):
            answer = candidate_text(Candidate("current", 0, current), team.layer.outputs)
            try:
                review = await team.ask(
                    self.reviewer, {**team.values, ANSWER_FIELD: answer},
                    inputs=[*team.layer.inputs, ANSWER_FIELD], outputs=[SCORE_FIELD, REVIEW_FIELD],
                    purpose=f"review round {round_number}", descriptions=described,
                )  # fmt: skip
                score = review_score(str(review[SCORE_FIELD]))
            except ParseError:
                scores.append("?")
                break
            scores.append(f"{score:g}")
            if score >= float(self.options["accept_score"]):
                break
            try:
                current = await team.ask(
                    self.refiner, {**team.values, ANSWER_FIELD: answer, REVIEW_FIELD: str(review[REVIEW_FIELD])},
                    inputs=[*team.layer.inputs, ANSWER_FIELD, REVIEW_FIELD], outputs=team.layer.outputs,
                    purpose=f"refine round {round_number}", descriptions=described,
                )  # fmt: skip
            except ParseError:
                break
            candidates.append(Candidate("refiner", round_number, current))
        decision = f"hard (agreement {agreement:.2f}); reviewer scores {' -> '.join(scores) or 'none'}"
        return LayerOutcome(current, candidates, decision)
