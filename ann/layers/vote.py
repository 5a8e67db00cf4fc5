"""vote: self-consistency — every member answers and the normalised majority wins.

Answers are compared after normalisation: when at least half of the answers are one line holding
a number, each such answer votes with its last number (so "The answer is 42." and "42" agree);
every other answer, and every answer when fewer hold a number, votes with its normalised text
(case, spacing, quotes and trailing punctuation ignored). An answer of several lines — code, a
list, a letter — never votes with a number it happens to contain (``return n + 1``). Ties go to
the answer given first (agent order, then sample order), so the same answers always give the same
decision.
"""

from __future__ import annotations

from collections import Counter

from ann.datasets.normalize import normalize_answer
from ann.datasets.numeric_metric import extract_last_number
from ann.layers.base import Aggregator, Candidate, LayerOutcome, TeamRun, usable


def _number_key(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def vote_keys(answers: list[str]) -> list[str]:
    """The key each answer votes with: its last number when most answers are one line with a number,
    else its text."""
    numbers = [None if "\n" in str(answer).strip() else extract_last_number(str(answer)) for answer in answers]
    if 2 * sum(n is not None for n in numbers) >= len(answers):
        return [
            _number_key(n) if n is not None else normalize_answer(str(a)) for n, a in zip(numbers, answers, strict=True)
        ]
    return [normalize_answer(str(answer)) for answer in answers]


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
