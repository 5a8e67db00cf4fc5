"""Checks of form a rewrite must pass before it may be applied: never empty, unchanged or off-kind.

Small optimizer models fail in known ways — TextGrad replaced a system prompt with
``def complete_function(): pass`` — so a rewrite that looks like code or outgrows its kind is
rejected. What a rewrite may not take from the training data is the guards' job (``guards.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ann.optimizers.guards import words

_CODE = re.compile(r"```|^\s*(def |class |import |from \S+ import |return\b|print\()", re.MULTILINE)


def check_rewrite(kind: str, old: str, new: str, *, max_words: int = 120, tried: Iterable[str] = ()) -> str | None:
    """Why a rewrite must be rejected, or None when it may be applied.

    Args:
        kind: The param's kind (``role``, ``instructions``, ``task``, ``text``, ``tool_doc``).
        old: The current value.
        new: The proposed value.
        max_words: The longest instructions allowed.
        tried: Earlier proposals that validation rejected: proposing one again wastes a step.
    """
    text = new.strip()
    if not text:
        return "empty"
    if " ".join(words(text)) == " ".join(words(old)):
        return "unchanged"
    if any(" ".join(words(text)) == " ".join(words(earlier)) for earlier in tried):
        return "already tried and reverted"
    count = len(words(text))
    if kind == "role" and (count > 12 or "\n" in text):
        return f"not a role (a short noun phrase): {count} words"
    if kind in ("instructions", "task", "text", "tool_doc") and count > max_words:
        return f"too long: {count} words (at most {max_words})"
    if _CODE.search(text):
        return "code where text belongs"
    return None
