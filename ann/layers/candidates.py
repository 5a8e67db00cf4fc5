"""How the judge and the synthesizer see a team's candidates: numbered, one block each."""

from __future__ import annotations

import json

from ann.layers.base import Candidate
from ann.layers.prompts import CANDIDATE
from ann.render import render


def candidate_text(candidate: Candidate, outputs: list[str]) -> str:
    values = candidate.outputs or {}
    if len(outputs) == 1:
        return str(values.get(outputs[0], ""))
    return json.dumps({name: values.get(name, "") for name in outputs}, ensure_ascii=False)


def numbered(candidates: list[Candidate], outputs: list[str]) -> str:
    return "\n\n".join(
        render(CANDIDATE, number=i, text=candidate_text(c, outputs)) for i, c in enumerate(candidates, start=1)
    )
