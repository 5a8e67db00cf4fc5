"""Metrics: each turns (example, prediction) into a score in [0, 1] and feedback in words."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ann.datasets import (
    METRICS,
    CodePass,
    Contains,
    ExactMatch,
    Example,
    LLMJudge,
    MetricResult,
    NumericMatch,
    TokenF1,
    extract_last_number,
    load_humaneval,
    make_metric,
    normalize_answer,
    parse_judge_reply,
)
from ann.datasets.code_metric import build_program, extract_code
from ann.datasets.prompts import JUDGE_SYSTEM
from ann.errors import ConfigError, ParseError


def ex(answer: Any = "Paris", **expected: Any) -> Example:
    return Example(inputs={"question": "Capital of France?"}, expected={"answer": answer, **expected}, id="e1")


# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  Paris  ", "paris"),
        ('"Paris."', "paris"),
        ("'paris'", "paris"),
        ("**Paris**", "paris"),
        ("\u201cParis\u201d.", "paris"),
        ("(Paris)", "paris"),
        ("(a) or (b)", "(a) or (b)"),
        ("New   York\n City", "new york city"),
        ("Yes!", "yes"),
        ("C++", "c++"),
        ("-5", "-5"),
        ("3.14", "3.14"),
        ("U.S.", "u.s"),
        ("STRASSE", "strasse"),
        ("Stra\u00dfe", "strasse"),
        ("\uff21\uff22", "ab"),
    ],
)
def test_normalize_answer(raw: str, normalised: str) -> None:
    assert normalize_answer(raw) == normalised


@given(st.text())
def test_normalize_answer_is_idempotent(text: str) -> None:
    once = normalize_answer(text)
    assert normalize_answer(once) == once


@given(
    st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd")), min_size=1),
    st.sampled_from(['"{}"', "'{}.'", "  {}  ", "{}.", "**{}**", "({})", "\u201c{}\u201d"]),
)
def test_wrapping_does_not_change_the_normalised_answer(word: str, wrapper: str) -> None:
    assert normalize_answer(wrapper.format(word)) == normalize_answer(word)


@given(st.text(), st.text())
def test_exact_match_is_symmetric_and_reflexive(a: str, b: str) -> None:
    metric = ExactMatch()
    assert metric(ex(a), {"answer": a}).score == 1.0
    assert metric(ex(a), {"answer": b}).score == metric(ex(b), {"answer": a}).score


# --- ExactMatch / Contains / TokenF1 ----------------------------------------------------------


def test_exact_match_scores_and_explains() -> None:
    assert ExactMatch()(ex(), {"answer": "paris."}) == MetricResult(1.0, "matches the expected answer 'Paris'")
    assert ExactMatch()(ex(), {"answer": "Lyon"}) == MetricResult(0.0, "expected 'Paris', got 'Lyon'")


def test_a_list_of_answers_means_any_of_them() -> None:
    assert ExactMatch()(ex(["Paris", "City of Light"]), {"answer": "city of light"}).score == 1.0
    assert ExactMatch()(ex(["Paris", "City of Light"]), {"answer": "Lyon"}).score == 0.0


def test_field_and_target_pick_what_is_compared() -> None:
    metric = ExactMatch("final", target="gold")
    assert metric(ex(gold="42"), {"final": "42", "answer": "no"}).score == 1.0
    assert (metric.field, metric.target, metric.name) == ("final", "gold", "exact_match")


def test_missing_prediction_field_scores_zero_with_feedback() -> None:
    result = ExactMatch()(ex(), {"reply": "Paris"})
    assert result == MetricResult(0.0, "the prediction has no field 'answer' (has: reply)")


def test_missing_expected_field_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="example 'e1' has no expected field 'gold' \\(has: answer\\)"):
        ExactMatch(target="gold")(ex(), {"answer": "Paris"})


def test_contains_needs_whole_words() -> None:
    assert Contains()(ex(), {"answer": "It is PARIS, the capital."}).score == 1.0
    assert Contains()(ex("4"), {"answer": "42"}).score == 0.0
    assert Contains()(ex("4"), {"answer": "so it is 4."}).score == 1.0
    assert Contains()(ex(), {"answer": "Lyon"}).feedback == "does not contain the expected answer 'Paris'"


def test_contains_rejects_an_empty_answer() -> None:
    with pytest.raises(ConfigError, match="empty"):
        Contains()(ex("  ."), {"answer": "anything"})


def test_token_f1_is_squad_f1() -> None:
    # SQuAD normalisation drops "the" and punctuation: 2 common tokens of 3 predicted and 2 expected.
    result = TokenF1()(ex("the Eiffel Tower"), {"answer": "Eiffel tower, Paris"})
    assert result.score == pytest.approx(2 * (2 / 3) * 1 / ((2 / 3) + 1))
    assert result.feedback == "token F1 0.80 (precision 0.67, recall 1.00); extra: paris"


def test_token_f1_edges() -> None:
    assert TokenF1()(ex("Paris"), {"answer": "paris!"}).score == 1.0
    assert TokenF1()(ex("Paris"), {"answer": "Lyon"}).score == 0.0
    assert TokenF1()(ex("the"), {"answer": "a"}).score == 1.0  # both empty after dropping articles
    assert "missing: york" in TokenF1()(ex("new york"), {"answer": "new"}).feedback


# --- NumericMatch ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("The answer is 42.", 42),
        ("1,234", 1234),
        ("It costs $1,234.50 in total", 1234.5),
        ("about 50%", 50),
        ("3/4", 0.75),
        ("-3/4 of it", -0.75),
        ("first 7, then 9", 9),
        ("\u22127", -7),
        ("1e-3", 0.001),
        ("10 - 5", 5),
        ("no number", None),
        ("", None),
    ],
)
def test_extract_last_number(text: str, number: float | None) -> None:
    assert extract_last_number(text) == number


def test_numeric_match_uses_the_last_number() -> None:
    assert NumericMatch()(ex(18), {"answer": "16 - 3 - 4 = 9 eggs, 9 * 2 = 18"}).score == 1.0
    result = NumericMatch()(ex(18), {"answer": "She makes 18 dollars... no, 20"})
    assert result == MetricResult(0.0, "found 20 (the last number in the answer), expected 18")


def test_numeric_match_feedback_when_no_number() -> None:
    assert NumericMatch()(ex("72"), {"answer": "I don't know"}) == MetricResult(
        0.0, "no number found in the answer, expected 72"
    )


def test_numeric_match_reads_gsm8k_style_expected_and_tolerance() -> None:
    assert NumericMatch()(ex("so 48 + 24 = 72\n#### 72"), {"answer": "72.0000001"}).score == 1.0
    assert NumericMatch()(ex(72), {"answer": "72.001"}).score == 0.0
    assert NumericMatch(rel_tol=1e-3)(ex(72), {"answer": "72.001"}).score == 1.0
    assert NumericMatch()(ex(0), {"answer": "0"}).score == 1.0


def test_numeric_match_expected_without_number_is_config_error() -> None:
    with pytest.raises(ConfigError, match="holds no number"):
        NumericMatch()(ex("Paris"), {"answer": "1"})


# --- CodePass ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def problems() -> dict[str, Example]:
    return {e.id: e for e in load_humaneval(ids=["HumanEval/0", "HumanEval/2", "HumanEval/38"])}


@pytest.mark.parametrize("task_id", ["HumanEval/0", "HumanEval/2", "HumanEval/38"])
def test_code_pass_passes_the_canonical_solution(problems: dict[str, Example], task_id: str) -> None:
    example = problems[task_id]
    result = CodePass()(example, {"completion": example.expected["canonical_solution"]})
    assert result == MetricResult(1.0, "all tests passed")


def test_code_pass_fails_a_wrong_body_and_shows_the_failing_assertion(problems: dict[str, Example]) -> None:
    result = CodePass()(problems["HumanEval/0"], {"completion": "    return False\n"})
    assert result.score == 0.0
    assert result.feedback.endswith("AssertionError")
    assert "assert candidate(" in result.feedback


def test_code_pass_takes_a_full_program_from_a_markdown_fence(problems: dict[str, Example]) -> None:
    reply = (
        "Here is my solution:\n```python\n"
        "def truncate_number(number: float) -> float:\n    return number % 1.0\n```\nHope it helps."
    )
    assert CodePass()(problems["HumanEval/2"], {"completion": reply}).score == 1.0


def test_full_program_still_sees_the_prompts_imports_and_helpers(problems: dict[str, Example]) -> None:
    # HumanEval/38's tests call encode_cyclic, which only the prompt defines.
    example = problems["HumanEval/38"]
    reply = "```python\ndef decode_cyclic(s: str):\n    return encode_cyclic(encode_cyclic(s))\n```"
    assert CodePass()(example, {"completion": reply}).score == 1.0


def test_code_pass_indents_a_flush_left_body(problems: dict[str, Example]) -> None:
    assert CodePass()(problems["HumanEval/2"], {"completion": "return number % 1.0\n"}).score == 1.0


EARLY_EXITS = {
    "sys.exit(0)": "    import sys\n    sys.exit(0)\n",
    "exit()": "    exit()\n",
    "quit()": "    quit()\n",
    "raise SystemExit": "    raise SystemExit(0)\n",
    "os._exit(0)": "    import os\n    os._exit(0)\n",
    "exit at import": "def truncate_number(number):\n    return 0.0\n\nimport sys\nsys.exit(0)\n",
    "atexit rewrites the status": (
        "    import atexit, os\n    atexit.register(lambda: os._exit(0))\n    return -1.0\n"
    ),
    "exit from a thread": (
        "    import os, threading\n    threading.Thread(target=os._exit, args=(0,)).start()\n"
        "    import time\n    time.sleep(5)\n"
    ),
    "prints what a pass looks like": "    print('all tests passed')\n    raise SystemExit(0)\n",
}


@pytest.mark.parametrize("completion", EARLY_EXITS.values(), ids=EARLY_EXITS.keys())
def test_code_pass_refuses_a_completion_that_exits_before_the_tests_finish(
    problems: dict[str, Example], completion: str
) -> None:
    result = CodePass()(problems["HumanEval/2"], {"completion": completion})
    assert result.score == 0.0
    assert "exited before the tests finished" in result.feedback or "Error" in result.feedback


def test_code_pass_reports_a_timeout(problems: dict[str, Example]) -> None:
    result = CodePass(timeout_s=0.5)(problems["HumanEval/2"], {"completion": "    while True:\n        pass\n"})
    assert result == MetricResult(0.0, "timed out after 0.5s")


def test_code_pass_missing_completion_scores_zero(problems: dict[str, Example]) -> None:
    result = CodePass()(problems["HumanEval/2"], {})
    assert result == MetricResult(0.0, "the prediction has no field 'completion' (has: no fields)")


def test_code_pass_needs_humaneval_style_examples() -> None:
    with pytest.raises(ConfigError, match="lacks inputs.prompt, test, entry_point; CodePass needs HumanEval-style"):
        CodePass()(ex(), {"completion": "pass"})


def test_build_program_layout() -> None:
    test = "def check(c):\n    assert c() == 1"
    body = build_program("    return 1\n", prompt="def f():\n", test=test, entry_point="f")
    assert body == "def f():\n    return 1\n\n\ndef check(c):\n    assert c() == 1\n\ncheck(f)\n"


def test_extract_code_prefers_the_python_block_defining_the_entry_point() -> None:
    reply = "```text\nnot code\n```\n```python\nx = 1\n```\n```python\ndef f():\n    return 2\n```"
    assert extract_code(reply, "f") == "def f():\n    return 2\n"
    assert extract_code("```python\ndef f():\n    return 3", "f") == "def f():\n    return 3"
    assert extract_code("    return 4\n", "f") == "    return 4\n"


# --- LLMJudge ----------------------------------------------------------------------------------


def judge_client(reply: str):
    """A scripted ModelClient answering every judge call with ``reply``."""
    from ann.testing.scripted_lm import scripted_client

    return scripted_client([reply])


def sent(client) -> list[list[dict[str, str]]]:
    return [request["messages"] for request in client.dspy_lm.requests]


def test_llm_judge_scores_from_the_reply() -> None:
    lm = judge_client("SCORE: 7\nREASON: Right city, but no explanation.")
    result = LLMJudge("Correct and explained.", lm)(ex(), {"answer": "Paris"})
    assert result == MetricResult(0.7, "Right city, but no explanation.")
    assert len(sent(lm)) == 1 and lm.usage.calls == 1


def test_llm_judge_sends_the_pinned_prompt() -> None:
    lm = judge_client("SCORE: 10\nREASON: ok")
    LLMJudge("Be correct.", lm)(ex(), {"answer": "Paris"})
    assert sent(lm)[0] == [
        {"role": "system", "content": JUDGE_SYSTEM},
        {
            "role": "user",
            "content": (
                "Rubric:\nBe correct.\n\n"
                "Task inputs:\nquestion: Capital of France?\n\n"
                "Reference answer:\nParis\n\n"
                "Answer to grade:\nParis"
            ),
        },
    ]


def test_llm_judge_without_reference_says_so() -> None:
    lm = judge_client("SCORE: 5")
    example = Example(inputs={"topic": "cats"}, expected={}, id="p")
    result = LLMJudge("Funny.", lm)(example, {"answer": "A cat walks in."})
    assert "Reference answer:\n(none given; grade by the rubric alone)" in sent(lm)[0][1]["content"]
    assert result == MetricResult(0.5, "no reason given")


def test_llm_judge_unparseable_reply_raises_parse_error_with_raw() -> None:
    with pytest.raises(ParseError) as info:
        LLMJudge("r", judge_client("I think it is pretty good."))(ex(), {"answer": "Paris"})
    assert info.value.raw == "I think it is pretty good."


def test_llm_judge_async() -> None:
    judge = LLMJudge("r", judge_client("SCORE: 3\nREASON: wrong"))
    assert asyncio.run(judge.acall(ex(), {"answer": "x"})) == MetricResult(0.3, "wrong")


def test_llm_judge_missing_field_does_not_call_the_model() -> None:
    lm = judge_client("SCORE: 10")
    assert LLMJudge("r", lm)(ex(), {}).score == 0.0
    assert sent(lm) == []


def test_llm_judge_rejects_a_non_client() -> None:
    with pytest.raises(TypeError, match="ModelClient"):
        LLMJudge("r", object())


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("SCORE: 7\nREASON: fine", (0.7, "fine")),
        ("score: 10\nreason: perfect", (1.0, "perfect")),
        ("**SCORE:** 6/10\n**REASON:** close enough", (0.6, "close enough")),
        ("Thinking...\nSCORE: 2\nSCORE: 4\nREASON: the last score counts", (0.4, "the last score counts")),
        ("SCORE: 0\nThe answer is wrong.", (0.0, "The answer is wrong.")),
        ("SCORE: 7.5", (0.75, "no reason given")),
    ],
)
def test_parse_judge_reply(raw: str, parsed: tuple[float, str]) -> None:
    assert parse_judge_reply(raw) == parsed


@pytest.mark.parametrize("raw", ["", "SCORE: eleven", "SCORE: 11\nREASON: too high", "REASON: no score"])
def test_parse_judge_reply_failures(raw: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_judge_reply(raw)
    assert info.value.raw == raw


# --- registry ----------------------------------------------------------------------------------


def test_registry_names() -> None:
    assert set(METRICS) == {"exact_match", "numeric_match", "contains", "token_f1", "code_pass", "llm_judge"}


@pytest.mark.parametrize(
    ("name", "options", "cls"),
    [
        ("exact_match", {}, ExactMatch),
        ("numeric_match", {"field": "final", "rel_tol": 1e-3}, NumericMatch),
        ("contains", {"target": "gold"}, Contains),
        ("token_f1", {}, TokenF1),
        ("code_pass", {"timeout_s": 5}, CodePass),
        ("llm_judge", {"rubric": "r", "lm": judge_client("SCORE: 1")}, LLMJudge),
    ],
)
def test_make_metric_builds_each_metric(name: str, options: dict[str, Any], cls: type) -> None:
    metric = make_metric(name, **options)
    assert type(metric) is cls
    assert metric.name == name


def test_make_metric_unknown_name_lists_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        make_metric("bleu")
    assert str(info.value) == (
        "unknown metric 'bleu'; known: code_pass, contains, exact_match, llm_judge, numeric_match, token_f1"
    )


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("exact_match", {"feild": "x"}, "unexpected keyword argument 'feild'"),
        ("llm_judge", {"rubric": "r"}, "missing a required argument: 'lm'"),
        ("code_pass", {"timeout_s": -1}, "timeout_s must be a positive number"),
    ],
)
def test_make_metric_bad_options_are_config_errors(name: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"bad options for metric '{name}': .*{message}"):
        make_metric(name, **options)


def test_a_number_too_large_for_a_float_is_no_number() -> None:
    # a model's code held "1e400"; the vote's number key once raised OverflowError on it
    assert extract_last_number("x = 1e400") is None
    assert extract_last_number("3, then 1e" + "9" * 5000) == 3.0
    assert extract_last_number("tiny 1e-400") == 0.0
    assert extract_last_number("2.5e3") == 2500.0
