"""Control flow of the team types: debate rounds, easy/hard routing, rubric and constitution."""

import json

import pytest

from ann import Agent, Graph, GraphError, Layer


def graph(client, aggregator, agents=3, **options):
    team = [Agent(f"a{i}", role=f"solver {i}") for i in range(agents)]
    layer = Layer("solve", team, aggregator, inputs=["q"], outputs=["answer"], options=options)
    return Graph([layer], inputs=["q"], outputs=["answer"], lm=client)


def solver_index(messages):
    system = messages[0]["content"]
    return int(system.split("You are solver ")[1][0]) if "You are solver " in system else None


def test_debate_rounds_show_each_agent_its_peers_and_the_last_round_votes(scripted):
    seen = []

    def reply(messages):
        index = solver_index(messages)
        user = messages[-1]["content"]
        if "Other answers:" not in user:
            return ["7", "8", "9"][index]
        seen.append((index, user.split("Other answers:\n")[1]))
        return "8"  # everyone is persuaded by a1

    client = scripted(reply)
    result = graph(client, "debate", rounds=2)(q="?")
    assert result.outputs["answer"] == "8"
    assert len(result.trace.calls) == 3 * 3
    first_round = dict(seen[:3])
    assert first_round[0] == "a1: 8\na2: 9" and first_round[2] == "a0: 7\na1: 8"
    assert {c.purpose for c in result.trace.calls} == {"answer", "debate round 1", "debate round 2"}
    assert result.trace.layers[0].decision.startswith("after 2 debate rounds: 3 of 3 agreed on '8'")


def refine_reply(answers, score="9"):
    def reply(messages):
        index = solver_index(messages)
        if index is not None:
            return answers[index]
        system = messages[0]["content"]
        if "meticulous reviewer" in system:
            return json.dumps({"score": score, "review": "the sum is off by one"})
        if "fixes mistakes" in system:
            return "12"
        raise AssertionError(system)

    return reply


def test_refine_stops_easy_inputs_at_the_vote(scripted):
    result = graph(scripted(refine_reply(["5", "5", "5"])), "refine")(q="?")
    assert result.outputs["answer"] == "5"
    assert [c.purpose for c in result.trace.calls] == ["answer"] * 3
    assert result.trace.layers[0].decision.startswith("easy (agreement 1.00)")


def test_refine_sends_hard_inputs_to_reviewer_and_refiner(scripted):
    result = graph(scripted(refine_reply(["5", "6", "7"], score="3")), "refine", max_rounds=2)(q="?")
    purposes = [c.purpose for c in result.trace.calls]
    assert purposes[3:] == ["review round 1", "refine round 1", "review round 2", "refine round 2"]
    assert result.outputs["answer"] == "12"
    assert result.trace.layers[0].decision == "hard (agreement 0.33); reviewer scores 3 -> 3"


def test_refine_threshold_is_a_param_that_routes(scripted):
    g = graph(scripted(refine_reply(["5", "5", "6"], score="9")), "refine")
    assert dict(g.named_parameters())["solve.refine.threshold"].value == "0.67"
    result = g(q="?")
    assert result.trace.layers[0].decision == "hard (agreement 0.67); reviewer scores 9"  # 2/3 < 0.67
    assert result.outputs["answer"] == "5"  # accepted by the reviewer, not refined
    g.load_state_dict({**g.state_dict(), "solve.refine.threshold": "0.6"})
    assert g(q="?").trace.layers[0].decision.startswith("easy (agreement 0.67)")


def test_best_of_n_judge_sees_the_trainable_rubric(scripted):
    sent = []

    def reply(messages):
        index = solver_index(messages)
        if index is not None:
            return ["10", "20", "30"][index]
        sent.append(messages[-1]["content"])
        return "3"

    g = graph(scripted(reply), "best_of_n", rubric="Prefer the largest number.")
    assert dict(g.named_parameters())["solve.best_of_n.rubric"].value == "Prefer the largest number."
    assert g(q="?").outputs["answer"] == "30"
    assert "Rubric:\nPrefer the largest number." in sent[0] and "Candidate 3:\n30" in sent[0]


def test_critique_revises_until_no_issues(scripted):
    critiques = iter(["Too long: violates 'be concise'.", "no issues"])

    def reply(messages):
        system = messages[0]["content"]
        if "checks answers against principles" in system:
            assert "Principles:\nBe brief." in messages[-1]["content"]
            return next(critiques)
        return "short" if "Critique:" in messages[-1]["content"] else "a very long answer"

    g = graph(scripted(reply), "critique", agents=1, principles="Be brief.", rounds=3)
    result = g(q="?")
    assert result.outputs["answer"] == "short"
    assert [c.purpose for c in result.trace.calls] == ["answer", "critique round 1", "revise round 1",
                                                        "critique round 2"]  # fmt: skip
    assert result.trace.layers[0].decision == "round 1: revised; round 2: no issues"
    assert "solve.critique.principles" in dict(g.named_parameters())


def test_team_type_options_and_sizes_are_checked():
    with pytest.raises(GraphError, match="aggregator 'debate' does not take \\['round'\\]; it takes: rounds"):
        Layer("s", [Agent("a"), Agent("b")], "debate", inputs=["q"], outputs=["x"], options={"round": 2})
    with pytest.raises(GraphError, match="aggregator 'debate' does not take 1 agents \\(it needs at least 2\\)"):
        Layer("s", [Agent("a")], "debate", inputs=["q"], outputs=["x"])
    with pytest.raises(GraphError, match="refine: threshold must be a number"):
        Layer("s", [Agent("a")], "refine", inputs=["q"], outputs=["x"], options={"threshold": "high"})


def route_reply(choice):
    def reply(messages):
        if "dispatcher" in messages[0]["content"]:
            return json.dumps({"team_type": choice}) if choice else "??"
        return ["5", "6", "6"][solver_index(messages)]

    return reply


@pytest.mark.parametrize(("choice", "answer", "calls"), [("vote", "6", 4), ("single", "5", 2), (None, "6", 4)])
def test_route_picks_a_team_type_per_input(scripted, choice, answer, calls):
    g = graph(scripted(route_reply(choice), schema_style="llamacpp"), "route", teams=["vote", "single"])
    result = g(q="?")
    assert result.outputs["answer"] == answer and len(result.trace.calls) == calls
    routed = choice or "vote"
    assert result.trace.layers[0].decision.startswith(f"routed to {routed} (")
    router = result.trace.calls[0]
    assert (
        router.purpose == "route" and "Routing rule:\nPick 'single' for easy inputs" in router.messages[-1]["content"]
    )
    assert "solve.route.rule" in dict(g.named_parameters())


def test_route_reply_is_constrained_to_its_team_types(scripted):
    client = scripted(route_reply("vote"), schema_style="llamacpp")
    graph(client, "route", teams=["vote", "judge"])(q="?")
    schema = client.dspy_lm.requests[0]["response_format"]["schema"]
    assert schema["properties"]["team_type"]["enum"] == ["vote", "judge"]


def test_route_options_are_checked():
    with pytest.raises(GraphError, match="route: teams must list two or more team types"):
        Layer("s", [Agent("a")], "route", inputs=["q"], outputs=["x"], options={"teams": ["vote", "nope"]})
    with pytest.raises(GraphError, match="aggregator 'route' does not take 1 agents"):
        Layer("s", [Agent("a")], "route", inputs=["q"], outputs=["x"], options={"teams": ["single", "debate"]})
