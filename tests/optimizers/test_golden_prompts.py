"""Golden tests: the exact messages the loss (critic) and backward (debugger) send."""

import asyncio

from scripts import CRITIC, DEBUGGER, optimizer_script, three_layer_graph

from ann import Example
from ann.datasets import make_metric
from ann.optimizers import TextLoss

CRITIC_MESSAGES = [
    {
        "role": "system",
        "content": (
            "You are a demanding reviewer of an AI system's answers.\n\n"
            "An AI system answered one input of a task and its answer was scored as wrong or incomplete. "
            "In two to four sentences, say what is wrong with the system's answer and what a correct answer would "
            "look like. Mention format problems (extra words, a wrong label, a missing part) as well as reasoning "
            'errors.\n\nReply with a JSON object with these keys:\n- "critique": the critique'
        ),
    },
    {
        "role": "user",
        "content": (
            "Task:\nAnswer 'right'.\n\n"
            "System:\nlayer 'plan' (single, 1 agent): reads question; writes plan\n"
            "layer 'solve' (single, 1 agent): reads plan; writes draft\n"
            "layer 'final' (single, 1 agent): reads draft; writes answer\n\n"
            "Input:\nquestion: q\n\nAnswer:\nanswer: wrong\n\nExpected:\nanswer: right\n\n"
            "Score feedback:\nexpected 'right', got 'wrong'\n\n"
            "Trajectory:\nplan wrote plan: a plan (single agent)\nsolve wrote draft: a draft (single agent)\n"
            "final wrote answer: wrong (single agent)"
        ),
    },
]

DEBUGGER_FINAL_MESSAGES = [
    {
        "role": "system",
        "content": (
            "You are an engineer who debugs teams of AI agents.\n\n"
            "The layer below is one step of a larger AI system. Its output received the feedback shown. Say how each "
            "agent of the layer should change its behaviour so that the layer's output would have been right, and "
            "what the layer's inputs from earlier steps should have contained. Give advice that would help on every "
            "input of the task; do not repeat this input's details.\n\n"
            "Reply with a JSON object with these keys:\n"
            "- \"agent_writer\": what agent 'writer' should do differently, in one or two sentences\n"
            "- \"upstream\": what the inputs from earlier steps should have contained, or 'nothing'"
        ),
    },
    {
        "role": "user",
        "content": (
            "Task:\nAnswer 'right'.\n\n"
            "Layer:\nlayer 'final' (single, 1 agent): reads draft; writes answer\n\n"
            "Team:\nagent 'writer': role: a writer; instructions: Write.\n\n"
            "Layer inputs:\ndraft: a draft\n\nCandidates:\n1. answer: wrong\n\n"
            "Layer output:\nanswer: wrong\n\nFeedback:\nThe answer should be 'right'."
        ),
    },
]


def test_loss_and_backward_send_the_pinned_prompts(scripted):
    client = scripted(optimizer_script(lambda m: "{}"))
    graph = three_layer_graph(client)
    loss = TextLoss(make_metric("exact_match"), graph=graph, lm=client)

    async def go():
        result = await graph.acall(question="q")
        await loss.acall(Example(inputs={"question": "q"}, expected={"answer": "right"}, id="q"), result)
        await loss.abackward()

    asyncio.run(go())
    sent = [r["messages"] for r in client.dspy_lm.requests]
    assert [m for m in sent if CRITIC in m[0]["content"]] == [CRITIC_MESSAGES]
    debugger = [m for m in sent if DEBUGGER in m[0]["content"]]
    assert debugger[0] == DEBUGGER_FINAL_MESSAGES
