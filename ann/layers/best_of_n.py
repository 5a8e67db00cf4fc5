"""best_of_n: N candidates (agents x samples) and an LLM judge that grades them by a rubric.

The rubric is a trainable text, so training can sharpen what "best" means for the task.
"""

from __future__ import annotations

from ann.layers.judge import Judge
from ann.layers.prompts import DEFAULT_RUBRIC, RUBRIC_DESCRIPTION, RUBRIC_FIELD
from ann.params import Param


class BestOfN(Judge):
    name = "best_of_n"
    defaults = {"rubric": DEFAULT_RUBRIC}

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.texts = {
            "rubric": Param(str(self.options["rubric"]), description="the judge's rubric: what a good answer is",
                            kind="instructions"),
        }  # fmt: skip

    def judge_values(self) -> dict[str, str]:
        return {RUBRIC_FIELD: self.texts["rubric"].value}

    def judge_descriptions(self) -> dict[str, str]:
        return {RUBRIC_FIELD: RUBRIC_DESCRIPTION}
