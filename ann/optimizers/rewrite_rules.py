"""Checks a rewrite must pass before it may be applied: never empty, unchanged, off-kind or copied.

Small optimizer models fail in known ways — TextGrad replaced a system prompt with
``def complete_function(): pass``; GEPA wrote instructions about one training example — so a
rewrite that looks like code, outgrows its kind, or copies a training input is rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_CODE = re.compile(r"```|^\s*(def |class |import |from \S+ import |return\b|print\()", re.MULTILINE)
COPY_WINDOW = 8


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _copies(new: str, sources: Iterable[str]) -> bool:
    """Whether ``new`` contains a run of COPY_WINDOW consecutive words from any source text."""
    words = _words(new)
    shingles = {tuple(words[i : i + COPY_WINDOW]) for i in range(len(words) - COPY_WINDOW + 1)}
    if not shingles:
        return False
    for source in sources:
        source_words = _words(source)
        for i in range(len(source_words) - COPY_WINDOW + 1):
            if tuple(source_words[i : i + COPY_WINDOW]) in shingles:
                return True
    return False


def check_rewrite(
    kind: str, old: str, new: str, *, max_words: int = 120, avoid: Iterable[str] = (), tried: Iterable[str] = ()
) -> str | None:
    """Why a rewrite must be rejected, or None when it may be applied.

    Args:
        kind: The param's kind (``role``, ``instructions``, ``task``, ``text``, ``tool_doc``).
        old: The current value.
        new: The proposed value.
        max_words: The longest instructions allowed.
        avoid: Training inputs a rewrite must not copy from.
        tried: Earlier proposals that validation rejected: proposing one again wastes a step.
    """
    text = new.strip()
    if not text:
        return "empty"
    if " ".join(_words(text)) == " ".join(_words(old)):
        return "unchanged"
    if any(" ".join(_words(text)) == " ".join(_words(earlier)) for earlier in tried):
        return "already tried and reverted"
    words = len(_words(text))
    if kind == "role" and (words > 12 or "\n" in text):
        return f"not a role (a short noun phrase): {words} words"
    if kind in ("instructions", "task", "text", "tool_doc") and words > max_words:
        return f"too long: {words} words (at most {max_words})"
    if _CODE.search(text):
        return "code where text belongs"
    if _copies(text, avoid):
        return "copies a training example"
    return None
