"""TextualGradientDescent: the exact rewrite prompt, momentum, and rewrites that must never apply."""

import asyncio
import json

import pytest

from ann import ConfigError, Param
from ann.optimizers import Proposal, TextualGradientDescent, check_rewrite


def make(scripted, replies, **options):
    client = scripted(replies)
    instructions = Param("Write.", description="the instructions of agent 'writer'", kind="instructions")
    opt = TextualGradientDescent([("final.writer.instructions", instructions)], lm=client, task="Answer.", **options)
    return opt, instructions, client


def test_step_sends_the_pinned_rewrite_prompt_and_applies_the_new_text(scripted):
    opt, param, client = make(scripted, [json.dumps({"new_text": "Always answer with one word."})])
    param.grads.append("Too long.")
    proposal = opt.step()
    assert param.value == "Always answer with one word."
    assert proposal.changes[0].old == "Write." and proposal.changes[0].feedback == "- Too long."
    messages = client.dspy_lm.requests[0]["messages"]
    assert messages == [
        {
            "role": "system",
            "content": (
                "You are an expert prompt engineer.\n\n"
                "Rewrite the current text so that the AI system does better on the whole task. "
                "Use the feedback and keep what already works. "
                "State general rules that hold for every input of the task; "
                "never copy names, numbers or sentences of single examples. "
                "The text is instructions for an AI agent: plain sentences, at most 120 words, no code.\n\n"
                'Reply with a JSON object with these keys:\n- "new_text": the new text, and nothing else'
            ),
        },
        {
            "role": "user",
            "content": "Task:\nAnswer.\n\nPurpose:\nthe instructions of agent 'writer'\n\nCurrent:\nWrite.\n\n"
            "Feedback:\n- Too long.\n\nPast attempts:\n(none yet)",
        },
    ]


def test_rewrites_ask_for_schema_constrained_json(scripted):
    client = scripted([json.dumps({"new_text": "Be brief."})], schema_style="llamacpp")
    param = Param("Write.", description="instructions", kind="instructions")
    opt = TextualGradientDescent([("p", param)], lm=client)
    param.grads.append("Too long.")
    opt.step()
    schema = client.dspy_lm.requests[0]["response_format"]["schema"]
    assert schema["required"] == ["new_text"] and client.dspy_lm.requests[0]["response_format"]["type"] == "json_object"


def test_momentum_puts_past_updates_and_their_outcomes_into_the_prompt(scripted):
    replies = [json.dumps({"new_text": f"Version {i}."}) for i in range(4)]
    opt, param, client = make(scripted, replies, momentum=2)
    for before, after, accepted in ((0.2, 0.1, False), (0.2, 0.5, True), (0.5, 0.4, False)):
        param.grads.append("More.")
        proposal = opt.step()
        opt.record(proposal, before=before, after=after, accepted=accepted)
        if not accepted:
            opt.revert(proposal)
        opt.zero_grad()
    param.grads.append("More.")
    opt.step()
    last = client.dspy_lm.requests[-1]["messages"][1]["content"]
    past = last.split("Past attempts:\n")[1]
    assert past == (
        "tried: 'Version 1.' -> validation 0.200 to 0.500 (kept)\n"
        "tried: 'Version 2.' -> validation 0.500 to 0.400 (reverted)"
    )
    assert "Version 0." not in last  # only the last two updates: momentum=2


@pytest.mark.parametrize(
    "reply",
    [
        "not json at all",
        json.dumps({"new_text": ""}),
        json.dumps({"new_text": "Write."}),
        json.dumps({"new_text": "def complete_function():\n    pass"}),
        json.dumps({"new_text": "word " * 200}),
    ],
)
def test_malformed_or_off_kind_rewrites_are_retried_then_skipped_never_applied(scripted, reply):
    opt, param, client = make(scripted, [reply])
    param.grads.append("Fix it.")
    proposal = opt.step()
    assert param.value == "Write."
    assert proposal.changes == []
    assert len(proposal.rejected) == 2 and len(client.dspy_lm.requests) == 2


def test_a_bad_first_rewrite_is_retried_and_the_good_one_applied(scripted):
    opt, param, _ = make(scripted, ["garbage", json.dumps({"new_text": "Answer in one word."})])
    param.grads.append("Fix it.")
    opt.step()
    assert param.value == "Answer in one word."


def test_long_feedback_is_summarised_so_prompts_stay_bounded(scripted):
    def reply(messages):
        if "editor of feedback" in messages[0]["content"]:
            return json.dumps({"merged": "- be brief"})
        return json.dumps({"new_text": "Be brief."})

    opt, param, client = make(scripted, reply, summarise_over=200)
    param.grads.extend([f"Feedback number {i}: " + "x" * 300 for i in range(50)])
    param.grads.append(param.grads[0])
    opt.step()
    rewrite = client.dspy_lm.requests[-1]["messages"][1]["content"]
    assert "Feedback:\n- be brief" in rewrite and len(rewrite) < 600
    summarise = client.dspy_lm.requests[0]["messages"][1]["content"]
    assert summarise.count("Feedback number 0:") == 1  # duplicates dropped
    assert max(len(line) for line in summarise.splitlines()) < 520  # each grad clipped


def test_candidates_give_alternative_proposals(scripted):
    replies = iter([json.dumps({"new_text": f"Option {i}."}) for i in range(3)])
    opt, param, _ = make(scripted, lambda m: next(replies), candidates=3)
    param.grads.append("Fix.")
    proposals = asyncio.run(opt.propose())
    assert sorted(p.changes[0].new for p in proposals) == ["Option 0.", "Option 1.", "Option 2."]
    assert param.value == "Write."


def test_state_dict_round_trip_and_checked_load(scripted):
    opt, param, _ = make(scripted, [json.dumps({"new_text": "New."})])
    param.grads.append("x")
    opt.record(opt.step(), before=0.1, after=0.2, accepted=True)
    state = json.loads(json.dumps(opt.state_dict()))
    fresh, _, _ = make(scripted, ["{}"])
    fresh.load_state_dict(state)
    assert fresh.state == opt.state
    with pytest.raises(ConfigError, match="param names differ"):
        fresh.load_state_dict({**state, "param_groups": [{**state["param_groups"][0], "params": ["other"]}]})


def test_check_rewrite_rules():
    assert check_rewrite("role", "a solver", "a careful solver") is None
    assert check_rewrite("role", "a solver", "a solver who " + "really " * 20 + "tries").startswith("not a role")
    assert check_rewrite("instructions", "x", "```python\nprint(1)\n```") == "code where text belongs"
    assert check_rewrite("instructions", "x", "Check twice!", tried=["check twice."]) == "already tried and reverted"
    assert isinstance(Proposal(), Proposal)


def test_a_rewrite_already_tried_and_reverted_is_not_proposed_again(scripted):
    param = Param("Solve.", description="instructions", kind="instructions")
    client = scripted([json.dumps({"new_text": "Solve it twice."})] * 4)
    opt = TextualGradientDescent([("solver", param)], lm=client)
    param.grads.append("be more careful")
    (first,) = asyncio.run(opt.propose())
    opt.record(first, before=0.5, after=0.4, accepted=False)
    opt.zero_grad()
    param.grads.append("be more careful")
    (second,) = asyncio.run(opt.propose())
    assert second.changes == []
    assert second.rejected[0]["reason"].startswith("already tried and reverted")


LONG = ("Read the message carefully. Find the order number and copy its digits exactly. "
        "Give the customer's name as written at the end. Do not add any other words to the answer.")  # fmt: skip


def test_lr_bounds_how_far_one_step_may_move_a_text(scripted):
    wholesale = "Answer every question in one short sentence and never mention the order."
    minimal = LONG.replace("Do not add any other words", "Add no other words, labels or currency")
    client = scripted([json.dumps({"new_text": wholesale}), json.dumps({"new_text": minimal})])
    param = Param(LONG, description="the instructions of agent 'clerk'", kind="instructions")
    opt = TextualGradientDescent([("read.clerk.instructions", param)], lm=client, lr=0.2)
    param.grads.append("The answer had extra words.")
    (proposal,) = asyncio.run(opt.propose())
    # The wholesale rewrite is refused and retried; the minimal edit within the bound is proposed.
    assert [c.new for c in proposal.changes] == [minimal]
    assert proposal.rejected[0]["reason"].startswith("too big a step: ")
    assert "(lr allows 12)" in proposal.rejected[0]["reason"]
    system = client.dspy_lm.requests[0]["messages"][0]["content"]
    assert "Make a minimal edit: change, add or remove at most 12 words and keep the rest as it is." in system


def test_without_lr_the_prompt_asks_for_no_minimal_edit_and_any_rewrite_may_pass(scripted):
    wholesale = "Answer every question in one short sentence and never mention the order."
    client = scripted([json.dumps({"new_text": wholesale})])
    param = Param(LONG, description="the instructions of agent 'clerk'", kind="instructions")
    opt = TextualGradientDescent([("read.clerk.instructions", param)], lm=client)
    param.grads.append("The answer had extra words.")
    (proposal,) = asyncio.run(opt.propose())
    assert [c.new for c in proposal.changes] == [wholesale]
    assert "minimal edit" not in client.dspy_lm.requests[0]["messages"][0]["content"]


def test_lr_must_be_a_fraction():
    with pytest.raises(ValueError, match="lr must be in"):
        TextualGradientDescent([], lm=None, lr=0)  # type: ignore[arg-type]


def test_guards_refuse_a_rewrite_that_names_a_training_example(scripted):
    from ann import Example
    from ann.optimizers.guards import Guards

    copied = "Return the planets whose orbits lie between the two named planets, sorted by distance."
    client = scripted([json.dumps({"new_text": "Use skjkasdkd when the input is a list."}),
                       json.dumps({"new_text": "Check the edge cases before answering."})])  # fmt: skip
    param = Param("Write.", description="the instructions of agent 'writer'", kind="instructions")
    opt = TextualGradientDescent([("p", param)], lm=client)
    param.grads.append("Wrong.")
    guards = Guards([Example({"prompt": f"def skjkasdkd(lst):\n    '''{copied}'''"}, {"answer": "x"}, id="t0")])
    (proposal,) = asyncio.run(opt.propose(guards=guards))
    assert [c.new for c in proposal.changes] == ["Check the edge cases before answering."]
    assert "skjkasdkd" in proposal.rejected[0]["reason"]


def test_a_rewrite_whose_model_call_keeps_failing_is_skipped_with_the_reason(scripted):
    from dspy.utils.exceptions import LMServerError

    def down(messages):
        raise LMServerError("The server had an error (injected)", status=500)

    client = scripted(down, num_retries=0)
    param = Param("Write.", description="the instructions of agent 'writer'", kind="instructions")
    opt = TextualGradientDescent([("final.writer.instructions", param)], lm=client, task="Answer.")
    param.grads.append("Fix it.")
    proposal = opt.step()  # a failed call is the model's fault: the step goes on without a rewrite
    assert param.value == "Write." and proposal.changes == []
    reasons = [r["reason"] for r in proposal.rejected]
    assert len(reasons) == 2 and len(client.dspy_lm.requests) == 2
    assert all(r.startswith("the model call failed: model scripted/test: ") for r in reasons)
    assert all("The server had an error (injected)" in r for r in reasons)
