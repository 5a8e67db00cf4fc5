"""vote: self-consistency — every member answers and the normalised majority wins.

Answers are compared after normalisation: when every answer contains a number, the last number
is the vote (so "The answer is 42." and "42" agree); otherwise the case-folded text with
whitespace and trailing punctuation removed. Ties go to the answer given first (agent order,
then sample order), so the same answers always give the same decision.
"""

from __future__ import annotations

import re
from collections import Counter

from ann.layers.base import Aggregator, Candidate, LayerOutcome, TeamRun, usable

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _last_number(text: str) -> str | None:
    found = _NUMBER.findall(text)
    if not found:
        return None
    value = found[-1].replace(",", "")
    return value.rstrip("0").rstrip(".") if "." in value else value


def normalise_text(text: str) -> str:
    return " ".join(str(text).casefold().split()).strip(" .!?;:'\"`")


def vote_keys(answers: list[str]) -> list[str]:
    """The key each answer votes with; numbers when all answers have one, else normalised text."""
    numbers = [_last_number(str(answer)) for answer in answers]
    if all(number is not None for number in numbers):
        return [number or "" for number in numbers]
    return [normalise_text(answer) for answer in answers]


def majority(candidates: list[Candidate], field: str) -> tuple[Candidate, str]:
    """The winning candidate by normalised majority on ``field`` and a sentence saying why."""
    keys = vote_keys([str((c.outputs or {}).get(field, "")) for c in candidates])
    counts = Counter(keys)
    best = max(counts.values())
    winner_key = next(key for key in keys if counts[key] == best)
    winner = candidates[keys.index(winner_key)]
    tally = ", ".join(f"{key!r}×{n}" for key, n in counts.most_common())
    tie = " (tie broken by order)" if list(counts.values()).count(best) > 1 else ""
    return winner, f"{best} of {len(candidates)} agreed on {winner_key!r}{tie}; votes: {tally}"


class Vote(Aggregator):
    name = "vote"

    async def run(self, team: TeamRun) -> LayerOutcome:
        candidates = await team.answer_all()
        good = usable(candidates, team.layer.name)
        winner, decision = majority(good, team.layer.outputs[0])
        return LayerOutcome(outputs=dict(winner.outputs or {}), candidates=candidates, decision=decision)
