"""Overfitting guards: each one rejects its case, generic instructions pass them all."""

import asyncio
from collections.abc import Sequence

import pytest

from ann.datasets.example import Example
from ann.optimizers.guards import Guards, edit_fraction

PLANETS = Example(
    inputs={
        "prompt": (
            "def bf(planet1, planet2):\n"
            "    '''There are eight planets in our solar system: the closest to the Sun is Mercury, the next one\n"
            "    is Venus, then Earth, Mars, Jupiter, Saturn, Uranus, Neptune. Return a tuple containing all planets\n"
            "    whose orbits are located between the orbit of planet1 and the orbit of planet2, sorted by the\n"
            "    proximity to the sun. Return an empty tuple if planet1 or planet2 are not correct planet names.\n"
            '    bf("Jupiter", "Neptune") ==> ("Saturn", "Uranus")\'\'\'\n'
        )
    },
    expected={"entry_point": "bf", "test": "assert candidate('Jupiter', 'Neptune') == ('Saturn', 'Uranus')"},
    id="HumanEval/148",
)
PRIMES = Example(
    inputs={
        "prompt": (
            "def skjkasdkd(lst):\n"
            '    """You are given a list of integers. You need to find the largest prime value and return the sum\n'
            '    of its digits. For lst = [0,81,12,3,1,21] the output should be 3"""\n'
        )
    },
    expected={"entry_point": "skjkasdkd", "test": "assert candidate([0,81,12,3,1,21]) == 3"},
    id="HumanEval/94",
)
LONGEST = Example(
    inputs={"prompt": "def longest(strings):\n    '''Return the longest string of the list; None if it is empty.'''\n"},
    expected={"entry_point": "longest", "test": "assert candidate([]) is None"},
    id="HumanEval/12",
)
ORDERS = [
    Example({"message": "Hello, My order #97015 has not arrived yet. Regards, Fatima"},
            {"customer": "Fatima", "order": "97015"}, "train-02"),
    Example({"message": "Good morning. Order number 724328 was charged twice on my card. Ivan"},
            {"customer": "Ivan", "order": "724328"}, "train-00"),
]  # fmt: skip
TICKETS = [
    Example({"ticket": "I was charged twice for my subscription this month."}, {"category": "billing"}, "t-0"),
    Example({"ticket": "The website is very slow and pages time out."}, {"category": "technical"}, "t-1"),
]
ARITHMETIC = [Example({"question": "Farid has 4 cards and buys 19 more. How many cards now?"}, {"answer": "23"}, "a-0")]
CODE = [PLANETS, PRIMES, LONGEST]

GENERIC = [
    (
        CODE,
        "Read the docstring and the examples carefully, then write the whole function in one Python code block. "
        "Keep the given signature and handle edge cases such as empty lists, zero and negative numbers.",
    ),
    (
        CODE,
        "Return the result instead of printing it. Check your solution against every example in the docstring, "
        "and return exactly the type it asks for: a list, a tuple, a string or a number.",
    ),
    (CODE, "When the docstring mentions prime numbers or digits, write a small helper function and test it first."),
    (CODE, "Prefer clear loops and built-in functions such as sorted, sum and max; use only the standard library."),
    (CODE, "an expert Python programmer who tests edge cases"),
    (
        ORDERS,
        "The order number is the digits after the word order, order number or the # sign; copy them exactly. "
        "The customer's name is the name that signs the message, usually its last word.",
    ),
    (ORDERS, "Ignore greetings and sign-off phrases such as Regards when looking for the name."),
    (ARITHMETIC, "Write down each quantity, decide whether to add, subtract, multiply or divide, and give one number."),
    (ARITHMETIC, "When someone buys more, add; when they give some away, subtract; answer in at most 2 sentences."),
    (TICKETS, "Route charges and refunds to billing, errors and slow pages to technical, parcels to shipping."),
]
ALLOWED_TICKETS = "Route a ticket to the team that handles it: billing, technical or shipping. category, ticket"


def check(examples: Sequence[Example], new: str, *, allowed: str = "", **options: object) -> str | None:
    return asyncio.run(Guards(examples, **options).check(new, allowed=allowed))


def test_copies_guard_rejects_eight_words_of_an_input_or_an_expected_output() -> None:
    reason = check(CODE, "Remember: you need to find the largest prime value and return the sum.")
    assert reason == (
        "copies training example HumanEval/94's input 'prompt': 'you need to find the largest prime value'"
    )
    expected = Example({"q": "x"}, {"answer": "the total is the price of one ticket times the number of friends"})
    assert check([expected], "Say: the price of one ticket times the number of friends.", allowed="").startswith(
        "copies training example 0's expected output 'answer'"
    )


def test_short_value_guard_rejects_a_value_of_one_example() -> None:
    assert check(CODE, "In skjkasdkd, sum the digits of the largest prime.") == (
        "names 'skjkasdkd' from training example HumanEval/94's expected output 'entry_point'"
    )
    phrase = [Example({"q": "Where is it?"}, {"answer": "under the red bridge"}, "p")]
    assert check(phrase, "Look UNDER  the red\nbridge first.") == (
        "names 'under the red bridge' from training example p's expected output 'answer'"
    )


def test_identifier_guard_rejects_names_from_code_and_proper_names() -> None:
    assert check(CODE, "For the function bf, return the planets in between.").startswith("names 'bf' from")
    assert check(CODE, "Given planet1 and planet2, return what lies between.").startswith("names 'planet1' from")
    assert check(CODE, "Call `longest` on the list.").startswith("names 'longest' from")
    assert check(CODE, "Use a tuple of names from Mercury onwards.").startswith("names 'Mercury' from")
    assert check(ORDERS, "The customer is Ivan when a card was charged twice.").startswith("names 'Ivan' from")


def test_a_name_only_code_uses_is_rejected_in_prose_but_a_function_named_after_a_word_is_not() -> None:
    mashed = Example({"prompt": 'def skjkasdkd(lst):\n    """Sum the digits."""'}, {"answer": "x"}, "t0")
    median = Example({"prompt": 'def median(l):\n    """Return median of elements in the list l."""'},
                     {"entry_point": "median"}, "HumanEval/47")  # fmt: skip
    assert check([mashed, median], "Use skjkasdkd when the input is a list.") == (
        "names 'skjkasdkd' from training example t0's input 'prompt'"
    )
    assert check([mashed, median], "Return the median of the sorted values.") is None


def test_number_guard_rejects_training_numbers_but_not_tiny_ones() -> None:
    assert (
        check(ORDERS, "Order 97015 is the late one.")
        == "names '97015' from training example train-02's input 'message'"
    )
    assert check(ARITHMETIC, "Add 19 to the first number.").startswith("names '19' from training example a-0")
    assert check(ARITHMETIC, "Give the answer with 0, 1 or 2 decimals, never 17.") is None


@pytest.mark.parametrize(("examples", "text"), GENERIC)
def test_generic_instructions_pass_every_guard(examples: list[Example], text: str) -> None:
    assert check(examples, text, allowed=ALLOWED_TICKETS if examples is TICKETS else "") is None


def test_allowed_text_exempts_labels_identifiers_and_numbers() -> None:
    labels = "Answer technical when the website is slow."
    assert check(TICKETS, labels + " Answer billing for double charges.") is not None
    assert check(TICKETS, labels, allowed=ALLOWED_TICKETS) is None
    assert check(CODE, "Complete `bf` and keep planet1 first.", allowed="def bf(planet1, planet2)") is None
    assert check(ORDERS, "Order numbers such as 724328 have six digits.", allowed="e.g. order 724328") is None


class FakeEmbedder:
    """Texts about planets point one way, about docstrings another, anything else a third; records its calls."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [[2.0 * ("planet" in t), 3.0 * ("docstring" in t), 1.0 * ("planet" not in t and "docstring" not in t)]
                for t in texts]  # fmt: skip


def test_paraphrase_guard_rejects_a_close_text_and_embeds_the_training_set_once() -> None:
    embedder = FakeEmbedder()
    guards = Guards(CODE, embedder=embedder, paraphrase_threshold=0.9)

    async def run() -> list[str | None]:
        return [
            await guards.check("Read the docstring. List the planets whose orbits lie in between, by distance."),
            await guards.check("Read the docstring carefully and handle empty input."),
        ]

    paraphrase, generic = asyncio.run(run())
    assert paraphrase == (
        "paraphrases training example HumanEval/148's input 'prompt' (cosine 1.00): "
        "'List the planets whose orbits lie in between, by distance.'"
    )
    assert generic is None
    trained = [call for call in embedder.calls if any("def bf" in text for text in call)]
    assert len(trained) == 1 and len(trained[0]) == 6  # three prompts and three tests; short entry points skipped


def test_without_an_embedder_the_paraphrase_guard_is_skipped() -> None:
    assert check(CODE, "List the planets whose orbits lie in between, by distance.") is None


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match=r"paraphrase_threshold must be a number in \(0, 1\], got 1.5"):
        Guards(CODE, paraphrase_threshold=1.5)
    with pytest.raises(TypeError, match="examples must be Examples"):
        Guards([{"prompt": "def f(): ..."}])  # type: ignore[list-item]


def test_edit_fraction_is_word_level_levenshtein_over_the_old_length() -> None:
    assert edit_fraction("Solve the problem.", "solve the PROBLEM") == 0.0
    assert edit_fraction("a b c d", "a x c d") == 0.25
    assert edit_fraction("a b c d", "a c d") == 0.25
    assert edit_fraction("a b", "a b c d") == 1.0
    assert edit_fraction("", "new words") == 2.0


@pytest.mark.slow
def test_real_embedder_flags_the_planets_paraphrase_not_a_generic_instruction() -> None:
    from ann.datasets import load_humaneval
    from ann.embed import LocalEmbedder

    guards = Guards(load_humaneval(ids=["HumanEval/148", "HumanEval/94"]), embedder=LocalEmbedder())

    async def run() -> list[str | None]:
        return [
            await guards.check("Sort the planets by proximity to the sun and return an empty tuple for wrong names."),
            await guards.check("Read the docstring carefully and handle edge cases such as empty lists."),
        ]

    paraphrase, generic = asyncio.run(run())
    assert paraphrase is not None and paraphrase.startswith("paraphrases training example HumanEval/148")
    assert generic is None
