"""The backward pass on a hand-built 3-layer graph: gradients reach every upstream layer."""

import asyncio

from scripts import DEBUGGER, optimizer_script, three_layer_graph

from ann import Example
from ann.datasets import make_metric
from ann.optimizers import TextLoss


def run_loss(scripted, example_answer="right"):
    client = scripted(optimizer_script(lambda m: "{}"))
    graph = three_layer_graph(client)
    loss = TextLoss(make_metric("exact_match"), graph=graph, lm=client)
    example = Example(inputs={"question": "q"}, expected={"answer": example_answer}, id="q")

    async def go():
        result = await graph.acall(question="q")
        item = await loss.acall(example, result)
        await loss.abackward()
        return item

    return graph, client, asyncio.run(go())


def test_gradients_reach_every_upstream_layer_by_the_chain_rule(scripted):
    graph, client, item = run_loss(scripted)
    assert item.metric.score == 0.0 and item.critique == "The answer should be 'right'."
    grads = {name: list(p.grads) for name, p in graph.named_parameters()}
    # The last layer's agent gets its own field of the debugger's reply...
    assert grads["final.writer.instructions"] == ["feedback for agent_writer"]
    assert grads["final.writer.role"] == ["feedback for agent_writer"]
    # ...and the feedback on the last layer's input becomes the middle layer's received feedback,
    # whose own upstream feedback reaches the first layer.
    assert grads["solve.solver.instructions"] == ["feedback for agent_solver"]
    assert grads["plan.planner.instructions"] == ["feedback for agent_planner"]
    assert grads["task"] == [] and grads["final.aggregator"] == []
    debugger_calls = [r["messages"] for r in client.dspy_lm.requests if DEBUGGER in r["messages"][0]["content"]]
    assert len(debugger_calls) == 3
    # Reverse topological order, and each call sees what came down from the layer after it.
    assert "Layer:\nlayer 'final'" in debugger_calls[0][1]["content"]
    assert "Feedback:\nThe answer should be 'right'." in debugger_calls[0][1]["content"]
    assert "Feedback:\n(about its output 'draft') feedback for upstream" in debugger_calls[1][1]["content"]
    assert "Feedback:\n(about its output 'plan') feedback for upstream" in debugger_calls[2][1]["content"]
    # The first layer reads only graph inputs: it is not asked about upstream layers.
    assert '"upstream"' not in debugger_calls[2][0]["content"]


def test_solved_examples_give_no_gradient(scripted):
    client = scripted(optimizer_script(lambda m: "{}"))
    graph = three_layer_graph(client)
    graph.layers["final"].agents[0].instructions.value = "GOOD"
    loss = TextLoss(make_metric("exact_match"), graph=graph, lm=client)

    async def go():
        return await loss.acall(
            Example(inputs={"question": "q"}, expected={"answer": "right"}), await graph.acall(question="q")
        )

    item = asyncio.run(go())
    asyncio.run(loss.abackward())
    assert item.critique is None
    assert all(not p.grads for p in graph.parameters())
    assert len(client.dspy_lm.requests) == 3  # the forward pass only


def backward_with_debugger(scripted, reply):
    """One failed run of the 3-layer graph, backpropagated with ``reply`` as the model."""
    client = scripted(reply)
    graph = three_layer_graph(client)
    loss = TextLoss(make_metric("exact_match"), graph=graph, lm=client)

    async def go():
        example = Example(inputs={"question": "q"}, expected={"answer": "right"})
        await loss.acall(example, await graph.acall(question="q"))
        await loss.abackward()

    asyncio.run(go())
    return graph


def test_unparseable_debugger_passes_feedback_on_unchanged(scripted):
    def reply(messages):
        if DEBUGGER in messages[0]["content"]:
            return "not json"
        return optimizer_script(lambda m: "{}")(messages)

    graph = backward_with_debugger(scripted, reply)
    critique = "The answer should be 'right'."
    assert graph.layers["final"].agents[0].instructions.grads == [critique]
    assert graph.layers["plan"].agents[0].instructions.grads == [
        f"(about its output 'plan') (about its output 'draft') {critique}"
    ]


def test_a_debugger_that_says_no_agent_should_change_passes_the_feedback_on(scripted):
    import json

    def reply(messages):
        if DEBUGGER in messages[0]["content"]:
            return json.dumps({"agent_writer": "nothing", "agent_solver": "Nothing.", "agent_planner": "none",
                               "upstream": "nothing"})  # fmt: skip
        return optimizer_script(lambda m: "{}")(messages)

    graph = backward_with_debugger(scripted, reply)
    assert graph.layers["final"].agents[0].instructions.grads == ["The answer should be 'right'."]
    # "nothing" about the inputs stops the chain: upstream layers get no gradient.
    assert graph.layers["plan"].agents[0].instructions.grads == []


def test_a_team_types_own_text_gets_a_gradient(scripted):
    import json

    from ann import Agent, Graph, Layer

    def reply(messages):
        system = messages[0]["content"]
        if DEBUGGER in system:
            assert '- "text_rubric": how the judge\'s rubric: what a good answer is should change' in system
            assert "rubric: Prefer long answers." in messages[1]["content"]
            return json.dumps({"agent_a": "Be exact.", "agent_b": "nothing", "text_rubric": "Prefer exact answers."})
        if "strict judge" in system:
            return "1"
        if system.endswith("Reply with the answer."):
            return "wrong"
        return optimizer_script(lambda m: "{}")(messages)

    client = scripted(reply)
    layer = Layer("pick", [Agent("a"), Agent("b")], "best_of_n", inputs=["question"], outputs=["answer"],
                  options={"rubric": "Prefer long answers."})  # fmt: skip
    graph = Graph([layer], inputs=["question"], outputs=["answer"], lm=client)
    loss = TextLoss(make_metric("exact_match"), graph=graph, lm=client)

    async def go():
        await loss.acall(
            Example(inputs={"question": "q"}, expected={"answer": "right"}), await graph.acall(question="q")
        )
        await loss.abackward()

    asyncio.run(go())
    params = dict(graph.named_parameters())
    assert params["pick.best_of_n.rubric"].grads == ["Prefer exact answers."]
    assert params["pick.a.instructions"].grads == ["Be exact."] and params["pick.b.instructions"].grads == []
