"""Prompts of the datasets subpackage: the LLM judge's.

Filled with `ann.render.render`; golden tests pin what they produce.
"""

from __future__ import annotations

__all__ = ["JUDGE_INPUT_LINE", "JUDGE_NO_REFERENCE", "JUDGE_SYSTEM", "JUDGE_USER"]

JUDGE_SYSTEM = """\
You are a strict, fair grader. You are given a rubric, the inputs of a task, a reference answer \
when one exists, and an answer to grade. Grade the answer against the rubric only, using the \
reference to check correctness.

Reply with exactly two lines and nothing else:
SCORE: <an integer from 0 (worst) to 10 (best)>
REASON: <one sentence saying why>"""

JUDGE_USER = """\
Rubric:
{rubric}

Task inputs:
{inputs}

Reference answer:
{reference}

Answer to grade:
{answer}"""

JUDGE_INPUT_LINE = "{name}: {value}"

JUDGE_NO_REFERENCE = "(none given; grade by the rubric alone)"
