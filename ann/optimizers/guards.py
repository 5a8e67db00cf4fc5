"""Overfitting guards: a text the optimizer writes may not copy, name or paraphrase a training example.

On HumanEval, kept rewrites replaced the programmer's instructions with text about two training
problems (a function ``skjkasdkd``, "the indices of the planets", a function ``bf``): they helped
on the minibatch and taught nothing general. So every text the optimizer writes passes four
guards, cheapest first: verbatim copies, short values, identifiers and numbers, then paraphrases
found by sentence embeddings.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import keyword
import re
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ann.datasets.example import Example
from ann.embed import Embedder
from ann.optimizers.describe import clip

if TYPE_CHECKING:
    import numpy as np  # imported where vectors are compared: it slows every command's start

COPY_WINDOW = 8  # a run of 8 words is never shared by chance, and any fewer flags stock phrases
SHORT_MIN_CHARS = 6  # a one-word value shorter than this ("Ben", "yes", "4") occurs in text by chance
TINY_NUMBERS = frozenset({"0", "1", "2"})
PARAPHRASE_MIN_WORDS = 4  # shorter pieces embed to noise; the other guards cover them
# Measured with all-MiniLM-L6-v2 (LocalEmbedder), the best piece (whole text or one sentence) against whole values:
# 25 generic good instructions and roles against HumanEval (164 prompts; 32 problems with tests and solutions),
# examples/orders, arithmetic and tickets: 0.14-0.53. 12 hand-written paraphrases of one training example
# ("Return the indices of the planets between the two given planets, sorted by distance from the sun" for
# HumanEval/148, 0.58) against that example: 0.57-0.79. The threshold sits in that thin gap: the lexical
# guards are the first line, this one catches what only rewords an example.
PARAPHRASE_THRESHOLD = 0.55
REASON_CHARS = 80

# Generic programming words: naming `str`, `len` or `List` is no sign of overfitting.
_CODE_WORDS = frozenset(w.casefold() for w in [*dir(builtins), *keyword.kwlist, *typing.__all__])
_TOKEN = re.compile(r"\w+")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?!\w)")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+|\n+")
_NAME_BEFORE = re.compile(r"\b(?:def|class|named|called)\s*`?$", re.IGNORECASE)
_DEFINED = re.compile(r"\b(?:def|class)\s+(\w+)")


def words(text: str) -> list[str]:
    """The casefolded word tokens of ``text``: what copies and unchanged texts are compared on."""
    return _TOKEN.findall(text.casefold())


def _shingles(tokens: Sequence[str]) -> Iterator[tuple[str, ...]]:
    """Every run of COPY_WINDOW consecutive tokens."""
    return (tuple(tokens[i : i + COPY_WINDOW]) for i in range(len(tokens) - COPY_WINDOW + 1))


def shingle_index(texts: Iterable[str]) -> dict[tuple[str, ...], int]:
    """Each COPY_WINDOW-word run of the texts, mapped to the first text it occurs in."""
    index: dict[tuple[str, ...], int] = {}
    for number, text in enumerate(texts):
        for run in _shingles(words(text)):
            index.setdefault(run, number)
    return index


def find_copy(new: str, index: Mapping[tuple[str, ...], int]) -> tuple[str, int] | None:
    """The first COPY_WINDOW-word run of ``new`` found in ``index``, with its text's number, or None."""
    for run in _shingles(words(new)):
        if run in index:
            return " ".join(run), index[run]
    return None


def edit_fraction(old: str, new: str) -> float:
    """How much of ``old`` a rewrite changed: the textual learning rate.

    Word-level Levenshtein distance (insertions, deletions and substitutions of casefolded words)
    divided by the number of words in ``old`` (at least 1). No installed library computes it on
    words, and the dynamic programme is a few lines.

    Args:
        old: The text before the rewrite.
        new: The text after it.

    Returns:
        0.0 for the same words; 1.0 for a full replacement of equal length; more when ``new`` is longer.
    """
    a, b = words(old), words(new)
    row = list(range(len(b) + 1))
    for i, word in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, other in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (word != other))
    return row[-1] / max(len(a), 1)


@dataclass(frozen=True)
class _Source:
    """One training value, the example it belongs to, and how a reason names it."""

    name: str
    text: str
    example: int


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _sources(examples: Sequence[Example]) -> list[_Source]:
    sources = []
    for number, example in enumerate(examples):
        ref = f"training example {example.id or number}"
        sources += [_Source(f"{ref}'s input '{k}'", _as_text(v), number) for k, v in example.inputs.items()]
        sources += [_Source(f"{ref}'s expected output '{k}'", _as_text(v), number) for k, v in example.expected.items()]
    return sources


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def _whole(phrase: str) -> re.Pattern[str]:
    """Matches ``phrase`` (already normalised) as whole words of a normalised text."""
    return re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)")


def _is_short_value(text: str, spread: Mapping[str, int], own_names: frozenset[str]) -> bool:
    """A value of 2 to COPY_WINDOW - 1 words, or one word only its example has and not as a plain word.

    "skjkasdkd" and "Fatima" name their example; "median", a function named after its docstring's
    word, and "digits", in many examples, are words of the task.
    """
    found = words(text)
    if len(found) == 1:
        plain = text.strip().islower() and found[0] not in own_names
        return len(text.strip()) >= SHORT_MIN_CHARS and spread[found[0]] == 1 and not plain
    return 1 < len(found) < COPY_WINDOW


def _starts_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'(*-")
    return not before or before[-1] in ".!?:;\n"


def _is_name(token: str) -> bool:
    return len(token) > 1 and token[0].isupper() and token[1:].islower()


def _written_as_code(text: str, match: re.Match[str]) -> bool:
    """Whether a word is called, defined, named or quoted as code: ``bf(``, ``def bf``, ``called bf``, `` `bf` ``."""
    called = text[match.end() : match.end() + 1] == "("
    named = _NAME_BEFORE.search(text[max(0, match.start() - 20) : match.start()]) is not None
    return called or named or text[: match.start()].count("`") % 2 == 1


def _own_names(sources: list[_Source], in_examples: Mapping[str, set[int]]) -> frozenset[str]:
    """Names of one example that its text only ever uses as code: "skjkasdkd", "bf" — not "median".

    HumanEval's function names are such names, and so are one-word values. A function named after an
    English word its docstring also uses ("Return median of elements") stays a plain word.
    """
    candidates = {name.casefold() for source in sources for name in _DEFINED.findall(source.text)}
    candidates |= {found[0] for source in sources if len(found := words(source.text)) == 1}
    own = set()
    for name in candidates:
        if len(in_examples[name]) > 1:
            continue
        texts = [s.text for s in sources if s.example in in_examples[name]]
        uses = [(text, m) for text in texts for m in _TOKEN.finditer(text) if m.group().casefold() == name]
        if all(text.strip().casefold() == name or _written_as_code(text, m) for text, m in uses):
            own.add(name)
    return frozenset(own)


@dataclass(frozen=True)
class _Training:
    """What the cheap guards look up, computed once from the training set."""

    sources: list[_Source]
    copies: dict[tuple[str, ...], int]
    short_values: list[tuple[re.Pattern[str], int]]
    tokens: dict[str, int]  # casefolded word -> first source it occurs in
    names: frozenset[str]  # capitalised one-word values and words capitalised inside a sentence: proper names
    own_names: frozenset[str]  # functions, classes and one-word values that only one example has ("skjkasdkd", "bf")
    numbers: dict[str, int]

    @classmethod
    def build(cls, sources: list[_Source]) -> _Training:
        tokens: dict[str, int] = {}
        numbers: dict[str, int] = {}
        names = {s.text.strip() for s in sources if _is_name(s.text.strip())}
        in_examples: dict[str, set[int]] = {}
        for number, source in enumerate(sources):
            for match in _TOKEN.finditer(source.text):
                tokens.setdefault(match.group().casefold(), number)
                in_examples.setdefault(match.group().casefold(), set()).add(source.example)
                if _is_name(match.group()) and not _starts_sentence(source.text, match.start()):
                    names.add(match.group())
            for match in _NUMBER.finditer(source.text):
                numbers.setdefault(match.group(), number)
        spread = {word: len(examples) for word, examples in in_examples.items()}
        own_names = _own_names(sources, in_examples)
        short = [
            (_whole(_normal(s.text)), n) for n, s in enumerate(sources) if _is_short_value(s.text, spread, own_names)
        ]
        copies = shingle_index(source.text for source in sources)
        return cls(sources, copies, short, tokens, frozenset(names), own_names, numbers)


def _looks_like_identifier(new: str, match: re.Match[str], training: _Training) -> bool:
    """Whether a word of ``new`` reads as a name from code or a proper name rather than plain English."""
    token = match.group()
    own = token.casefold() in training.own_names
    shaped = "_" in token or any(c.isdigit() for c in token) or re.search(r"[a-z][A-Z]", token) is not None
    unpronounceable = re.search(r"[aeiouy]", token, re.IGNORECASE) is None
    proper = token in training.names and not _starts_sentence(new, match.start())
    return own or shaped or unpronounceable or proper or _written_as_code(new, match)


def _copies_check(new: str, training: _Training) -> str | None:
    """A run of COPY_WINDOW words copied from any training input or expected output."""
    found = find_copy(new, training.copies)
    if found is None:
        return None
    run, number = found
    return f"copies {training.sources[number].name}: '{run}'"


def _short_value_check(new: str, training: _Training, allowed: str) -> str | None:
    """A short training value (a name, a label, an answer) that ``allowed`` does not also contain."""
    text, free = _normal(new), _normal(allowed)
    for pattern, number in training.short_values:
        if pattern.search(text) and not pattern.search(free):
            return f"names '{clip(training.sources[number].text, REASON_CHARS)}' from {training.sources[number].name}"
    return None


def _number_check(new: str, training: _Training, allowed: str) -> str | None:
    """A number from a training example (an order number, an operand) that ``allowed`` does not contain."""
    free = set(_NUMBER.findall(allowed))
    for number in _NUMBER.findall(new):
        if number in training.numbers and number not in free and number not in TINY_NUMBERS:
            return f"names '{number}' from {training.sources[training.numbers[number]].name}"
    return None


def _identifier_check(new: str, training: _Training, allowed: str) -> str | None:
    """A training word, not in ``allowed``, that reads as a name rather than as English.

    That is a word shaped like an identifier (``is_prime``, ``planet1``, ``minPath``), written as code
    (`` `bf` ``, ``bf(``, ``called bf``), without a vowel (``bf``, ``lst``), a proper name inside a
    sentence ("Mercury", "Ivan"), or a name only one example's code uses ("skjkasdkd"). Plain English
    words ("list", "prime", "planets") and Python's own names pass: the paraphrase guard judges those.
    """
    free = set(words(allowed))
    for match in _TOKEN.finditer(new):
        key = match.group().casefold()
        if len(key) < 2 or key.isdigit() or key in free or key in _CODE_WORDS or key not in training.tokens:
            continue
        if _looks_like_identifier(new, match, training):
            return f"names '{match.group()}' from {training.sources[training.tokens[key]].name}"
    return None


def _sentences(text: str) -> list[str]:
    """The sentences and lines of ``text``, stripped."""
    return [piece.strip() for piece in _SENTENCE_END.split(text) if piece.strip()]


def _unit_rows(vectors: Sequence[Sequence[float]]) -> np.ndarray:
    import numpy as np

    matrix = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


class Guards:
    """Overfitting guards over every text the optimizer writes, built once per compile from the training set.

    Args:
        examples: The training set. Its inputs and expected outputs are what new texts may not copy.
        embedder: Sentence embeddings for the paraphrase guard; None skips that guard.
        paraphrase_threshold: The cosine similarity, between a new text (or one of its sentences)
            and a training value, from which the new text counts as a paraphrase.
        context: Text every check may reuse freely: the task description, field names and
            descriptions, label choices.

    Raises:
        TypeError: ``examples`` holds something other than Examples.
        ValueError: ``paraphrase_threshold`` is not a number in (0, 1].

    Example:
        >>> guards = Guards(trainset, embedder=LocalEmbedder())
        >>> await guards.check("Write the body of the function `bf`.")
        "names 'bf' from training example HumanEval/148's input 'prompt'"
    """

    def __init__(
        self,
        examples: Sequence[Example],
        *,
        embedder: Embedder | None = None,
        paraphrase_threshold: float = PARAPHRASE_THRESHOLD,
        context: str = "",
    ) -> None:
        stray = next((e for e in examples if not isinstance(e, Example)), None)
        if stray is not None:
            raise TypeError(f"examples must be Examples (the training set), got {type(stray).__name__} {stray!r}")
        number = isinstance(paraphrase_threshold, int | float) and not isinstance(paraphrase_threshold, bool)
        if not number or not 0 < paraphrase_threshold <= 1:
            raise ValueError(f"paraphrase_threshold must be a number in (0, 1], got {paraphrase_threshold!r}")
        sources = _sources(examples)
        self.embedder = embedder
        self.context = context
        self.paraphrase_threshold = paraphrase_threshold
        self._training = _Training.build(sources)
        self._embedded = [n for n, s in enumerate(sources) if len(words(s.text)) >= PARAPHRASE_MIN_WORDS]
        self._vectors: np.ndarray | None = None
        self._embedding: asyncio.Future[np.ndarray] | None = None

    async def check(self, new: str, *, allowed: str = "") -> str | None:
        """Why ``new`` must be rejected, or None when it passes every guard.

        Args:
            new: A text the optimizer wrote.
            allowed: Text ``new`` may freely reuse words, identifiers and numbers from: the task
                description, the param's current value and description, field names and label choices.

        Returns:
            A short reason naming the guard's finding and the training value, e.g.
            ``"names 'skjkasdkd' from training example HumanEval/94's expected output 'entry_point'"``.
        """
        training = self._training
        allowed = f"{self.context}\n{allowed}"
        reason = (
            _copies_check(new, training)
            or _short_value_check(new, training, allowed)
            or _number_check(new, training, allowed)
            or _identifier_check(new, training, allowed)
        )
        return reason or await self._paraphrase(new, allowed)

    async def _paraphrase(self, new: str, allowed: str) -> str | None:
        if self.embedder is None or not self._embedded:
            return None
        pieces = list(
            dict.fromkeys(p for p in [new.strip(), *_sentences(new)] if len(words(p)) >= PARAPHRASE_MIN_WORDS)
        )
        if not pieces:
            return None
        import numpy as np

        vectors = await self._training_vectors(self.embedder)
        free = [p for p in _sentences(allowed) if len(words(p)) >= 2]
        embedded = _unit_rows(await self.embedder([*pieces, *free]))
        own, known = embedded[: len(pieces)], embedded[len(pieces) :]
        # A sentence as close to the allowed text (the current doc, the task) as to a training value says
        # what the task is about, not what one example holds: a tool doc about metres is near a question
        # about metres (cosine 0.69 measured) and near its own old doc more.
        near_allowed = (own @ known.T).max(axis=1) if len(free) else np.full(len(pieces), -1.0)
        similarities = own @ vectors.T
        similarities[similarities <= near_allowed[:, None]] = -1.0
        piece, column = np.unravel_index(int(np.argmax(similarities)), similarities.shape)
        similarity = float(similarities[piece, column])
        if similarity < self.paraphrase_threshold:
            return None
        source = self._training.sources[self._embedded[column]]
        return f"paraphrases {source.name} (cosine {similarity:.2f}): '{clip(pieces[piece], REASON_CHARS)}'"

    async def _training_vectors(self, embedder: Embedder) -> np.ndarray:
        """The training values' unit vectors, embedded once however many checks wait for them."""
        if self._vectors is None:
            # A future belongs to one event loop; a sync caller runs each step in a new one.
            if self._embedding is None or self._embedding.get_loop() is not asyncio.get_running_loop():
                self._embedding = asyncio.ensure_future(self._embed_training(embedder))
            try:
                self._vectors = await self._embedding
            finally:
                self._embedding = None
        return self._vectors

    async def _embed_training(self, embedder: Embedder) -> np.ndarray:
        texts = [self._training.sources[n].text for n in self._embedded]
        return _unit_rows(await embedder(texts))
