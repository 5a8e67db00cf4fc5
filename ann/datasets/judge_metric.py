"""LLMJudge: a language model grades a prediction against a rubric, on a 0-10 scale."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ann.datasets.example import Example
from ann.datasets.metric_result import MetricResult
from ann.datasets.prompts import JUDGE_INPUT_LINE, JUDGE_NO_REFERENCE, JUDGE_SYSTEM, JUDGE_USER
from ann.errors import ParseError
from ann.render import render

if TYPE_CHECKING:
    from ann.lm import ModelClient

__all__ = ["LLMJudge", "parse_judge_reply"]

# Tolerates markdown around the tag ("**SCORE:** 7") and "7/10".
_SCORE_LINE = re.compile(
    r"^[\s*_#>]*score[\s*_]*[:=][\s*_]*(?P<n>\d+(?:\.\d+)?)\s*(?:/\s*10)?[\s*_.]*$",
    re.IGNORECASE | re.MULTILINE,
)
_REASON_LINE = re.compile(r"^[\s*_#>]*reason[\s*_]*[:=][\s*_]*(?P<text>.*?)[\s*_]*$", re.IGNORECASE | re.MULTILINE)


def parse_judge_reply(raw: str) -> tuple[float, str]:
    """Read the score and reason from a judge's reply.

    The last ``SCORE: n`` line counts (n from 0 to 10, ``n/10`` allowed). The reason is the last
    ``REASON:`` line, else the reply's other lines, else ``"no reason given"``.

    Args:
        raw: The judge's reply.

    Returns:
        ``(score in [0, 1], reason)``.

    Raises:
        ParseError: No ``SCORE:`` line, or a score outside 0-10; `raw` is kept on the error.
    """
    scores = list(_SCORE_LINE.finditer(raw))
    if not scores:
        raise ParseError("the judge's reply has no 'SCORE: n' line", raw=raw)
    value = float(scores[-1]["n"])
    if value > 10:
        raise ParseError(f"the judge's score {scores[-1]['n']} is outside 0-10", raw=raw)
    reasons = [m["text"] for m in _REASON_LINE.finditer(raw) if m["text"]]
    if reasons:
        reason = reasons[-1]
    else:
        rest = _SCORE_LINE.sub("", raw)
        reason = " ".join(rest.split()) or "no reason given"
    return value / 10, reason


class LLMJudge:
    """Score a prediction with one call to a language model that follows a rubric.

    The judge sees the rubric, the example's inputs, the reference answer (``expected[target]``,
    if the example has one) and ``prediction[field]``. A reply it cannot parse raises
    `ParseError`; a prediction without the field scores 0 without calling the model.

    Args:
        rubric: What a good answer is, in words.
        lm: The judge's model client; its calls are cached and counted like every other call.
        field: The prediction's output field.
        target: The key in `Example.expected` holding the reference; defaults to `field`.
        name: The name used in reports.

    Example:
        >>> judge = LLMJudge("Correct and concise.", ann.connect("openai/gpt-4o-mini"))
        >>> judge(example, {"answer": "Paris"})
        MetricResult(score=0.9, feedback='Correct and to the point.')
    """

    default_name = "llm_judge"

    def __init__(
        self,
        rubric: str,
        lm: ModelClient,
        *,
        field: str = "answer",
        target: str | None = None,
        name: str | None = None,
    ):
        if not isinstance(rubric, str) or not rubric.strip():
            raise ValueError(f"rubric must be a non-empty string, got {rubric!r}")
        if not hasattr(lm, "complete"):
            raise TypeError(f"lm must be an ann ModelClient (from ann.connect()), got {type(lm).__name__}")
        if not isinstance(field, str) or not field:
            raise ValueError(f"field must be a non-empty string, got {field!r}")
        self.rubric = rubric
        self.lm = lm
        self.field = field
        self.target = field if target is None else target
        self.name = self.default_name if name is None else name

    def messages(self, example: Example, prediction: Mapping[str, Any]) -> list[dict[str, str]]:
        """The chat messages sent to the judge for one prediction."""
        inputs = "\n".join(render(JUDGE_INPUT_LINE, name=k, value=v) for k, v in example.inputs.items())
        reference = example.expected.get(self.target)
        user = render(
            JUDGE_USER,
            rubric=self.rubric,
            inputs=inputs,
            reference=JUDGE_NO_REFERENCE if reference is None else reference,
            answer=prediction[self.field],
        )
        return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]

    def __call__(self, example: Example, prediction: Mapping[str, Any]) -> MetricResult:
        """Ask the judge once and turn its reply into a MetricResult (outside an event loop)."""
        return asyncio.run(self.acall(example, prediction))

    async def acall(self, example: Example, prediction: Mapping[str, Any]) -> MetricResult:
        """Ask the judge once; evaluation awaits this form."""
        missing = self._missing(prediction)
        if missing is not None:
            return missing
        completion = await self.lm.complete(self.messages(example, prediction))
        score, reason = parse_judge_reply(completion.text)
        return MetricResult(score, reason)

    def _missing(self, prediction: Mapping[str, Any]) -> MetricResult | None:
        if prediction.get(self.field) is None:
            has = ", ".join(map(str, prediction)) or "no fields"
            return MetricResult(0.0, f"the prediction has no field {self.field!r} (has: {has})")
        return None

    def __repr__(self) -> str:
        return f"LLMJudge(rubric={self.rubric!r}, field={self.field!r}, target={self.target!r}, name={self.name!r})"
