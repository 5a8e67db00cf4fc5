"""Answer normalisation shared by the text metrics.

Two flavours: `normalize_answer` keeps the text readable (for exact match and containment), and
`answer_tokens` is SQuAD's aggressive version (no punctuation, no articles) for token F1.
"""

from __future__ import annotations

import string
import unicodedata

__all__ = ["answer_tokens", "normalize_answer"]

_QUOTES = "\"'`“”‘’«»„‚*"
_TRAILING = ".,;:!?"
_BRACKETS = {"(": ")", "[": "]", "{": "}", "<": ">"}
_ARTICLES = frozenset({"a", "an", "the"})
_MAX_ROUNDS = 20


def normalize_answer(text: str) -> str:
    """Casefold, collapse whitespace and strip what surrounds an answer.

    Strips quotes (and markdown ``*``) around the text, one pair of brackets enclosing all of
    it, and trailing ``.,;:!?``; repeats until nothing changes, so ``'"Paris."'`` and
    ``"(paris)"`` both become ``"paris"``, and normalising twice changes nothing. Inner
    punctuation stays: ``"C++"``, ``"-5"`` and ``"U.S"`` keep their meaning. Unicode is
    NFKC-normalised first, so full-width and ligature forms compare equal to plain ones.

    Args:
        text: Any text.

    Returns:
        The normalised text (possibly empty).
    """
    s = text
    for _ in range(_MAX_ROUNDS):
        previous = s
        s = " ".join(unicodedata.normalize("NFKC", s).casefold().split())
        s = s.strip(_QUOTES)
        if len(s) >= 2 and _BRACKETS.get(s[0]) == s[-1]:
            inner = s[1:-1]
            # "(a) or (b)" is not one bracketed answer.
            if s[0] not in inner and s[-1] not in inner:
                s = inner
        s = s.rstrip(_TRAILING)
        if s == previous:
            break
    return s


def answer_tokens(text: str) -> list[str]:
    """SQuAD-style tokens: casefolded, punctuation and symbols removed, articles dropped.

    Args:
        text: Any text.

    Returns:
        The words left, in order.
    """
    s = unicodedata.normalize("NFKC", text).casefold()
    s = "".join(ch for ch in s if not _is_punctuation(ch))
    return [token for token in s.split() if token not in _ARTICLES]


def _is_punctuation(ch: str) -> bool:
    return ch in string.punctuation or unicodedata.category(ch)[0] == "P"
