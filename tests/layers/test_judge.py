import pytest

from ann import Agent, Graph, Layer
from ann.errors import ParseError
from ann.layers.judge import parse_choice


def test_parse_choice():
    assert parse_choice("Candidate 2 is best", 3) == 2
    assert parse_choice("0 ... 9 ... 3", 3) == 3
    with pytest.raises(ParseError):
        parse_choice("none", 3)


def graph(client, aggregator):
    team = [Agent("a", role="first"), Agent("b", role="second"), Agent("c", role="third")]
    return Graph(
        [Layer("solve", team, aggregator, inputs=["q"], outputs=["answer"])],
        inputs=["q"],
        outputs=["answer"],
        lm=client,
    )


def answers(messages):
    system = messages[0]["content"]
    for role, answer in (("first", "10"), ("second", "20"), ("third", "20")):
        if f"You are {role}" in system:
            return answer
    return None


def test_judge_picks_the_named_candidate_even_against_the_majority(scripted):
    seen = {}

    def reply(messages):
        if (text := answers(messages)) is not None:
            return text
        seen["judge"] = messages
        return "1"

    result = graph(scripted(reply), "judge")(q="which?")
    assert result.outputs["answer"] == "10"
    assert "judge chose candidate 1 of 3" in result.trace.layers[0].decision
    user = seen["judge"][-1]["content"]
    assert "Candidate 1:\n10" in user and "Candidate 3:\n20" in user and "Q:\nwhich?" in user
    assert [c.purpose for c in result.trace.calls].count("judge") == 1


def test_judge_that_names_nothing_falls_back_to_vote(scripted):
    result = graph(scripted(lambda m: answers(m) or "I cannot decide"), "judge")(q="?")
    assert result.outputs["answer"] == "20"
    assert result.trace.layers[0].decision.startswith("judge failed")


def test_synthesize_merges_and_falls_back(scripted):
    result = graph(scripted(lambda m: answers(m) or "15"), "synthesize")(q="?")
    assert result.outputs["answer"] == "15"
    assert "merged 3 candidates" in result.trace.layers[0].decision
    result = graph(scripted(lambda m: answers(m) or ""), "synthesize")(q="?")
    assert result.outputs["answer"] == "20"
    assert result.trace.layers[0].decision.startswith("merge failed")
