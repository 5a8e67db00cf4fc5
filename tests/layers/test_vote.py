from hypothesis import given
from hypothesis import strategies as st

from ann import Agent, Graph, Layer
from ann.layers.base import Candidate
from ann.layers.vote import majority, vote_keys


def cands(*answers):
    return [Candidate(agent=f"a{i}", sample=0, outputs={"answer": a}) for i, a in enumerate(answers)]


def test_numbers_vote_by_last_number():
    assert vote_keys(["The answer is 42.", "42", "so 6*7 = 42"]) == ["42", "42", "42"]
    assert vote_keys(["1,200", "1200.0"]) == ["1200", "1200"]


def test_text_votes_normalised():
    assert vote_keys(["  Paris. ", "paris", "PARIS!"]) == ["paris"] * 3


def test_majority_and_tie_goes_to_first():
    winner, why = majority(cands("7", "8", "8"), "answer")
    assert winner.agent == "a1" and "2 of 3 agreed on '8'" in why
    winner, why = majority(cands("blue", "red"), "answer")
    assert winner.agent == "a0" and "tie broken by order" in why


@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=9))
def test_majority_is_deterministic_and_picks_a_most_common(answers):
    first, _ = majority(cands(*answers), "answer")
    second, _ = majority(cands(*answers), "answer")
    assert first is not None and first.agent == second.agent
    top = max(answers.count(a) for a in set(answers))
    assert answers.count(first.outputs["answer"]) == top
    assert answers.index(first.outputs["answer"]) == min(
        answers.index(a) for a in set(answers) if answers.count(a) == top
    )


def test_vote_layer_runs_every_agent_and_samples(scripted):
    replies = iter(["5", "6", "6", "5", "6", "x"])
    client = scripted(lambda m: next(replies))
    layer = Layer("solve", [Agent("a"), Agent("b")], "vote", inputs=["q"], outputs=["answer"], samples=3)
    result = Graph([layer], inputs=["q"], outputs=["answer"], lm=client)(q="?")
    assert len(result.trace.calls) == 6
    assert result.outputs["answer"] == "6"
    temps = [r["temperature"] for r in client.dspy_lm.requests]
    assert sorted(temps) == [0.0, 0.0, 0.7, 0.7, 0.7, 0.7]


def test_unparseable_candidates_are_dropped_not_fatal(scripted):
    client = scripted(lambda m: "" if "You are b" in m[0]["content"] else "9")
    layer = Layer("solve", [Agent("a", role="a"), Agent("b", role="b")], "vote", inputs=["q"], outputs=["answer"])
    result = Graph([layer], inputs=["q"], outputs=["answer"], lm=client)(q="?")
    assert result.outputs["answer"] == "9"
    assert [c.error is not None for c in result.trace.calls].count(True) == 1
    assert result.trace.layers[0].candidates[1] == {"error": "the model returned an empty reply"}


def test_mostly_numeric_answers_vote_by_number_and_the_rest_by_text():
    assert vote_keys(["so 9", "9 books", "I'm ready to help."]) == ["9", "9", "i'm ready to help"]
    assert vote_keys(["Paris", "paris", "route 66"]) == ["paris", "paris", "route 66"]


def test_code_votes_with_its_text_not_with_a_number_it_contains():
    # Two different functions that both end in "1" must not agree; two copies of one function must.
    first = "    n = len(xs)\n    return n + 1\n"
    other = "    total = sum(xs)\n    return total - 1\n"
    keys = vote_keys([first, other, first])
    assert keys[0] == keys[2] != keys[1]
    assert "1" not in keys
    assert vote_keys(["The answer is 42.\n", "42"]) == ["42", "42"]  # one line, however it ends
