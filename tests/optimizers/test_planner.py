"""The planner: a valid plan becomes the graph; a bad plan is rejected with its reason and retried."""

import asyncio
import json

import pytest

from ann.build import graph_from_spec
from ann.optimizers.planner import PlanError, plan_graph, plan_schema
from ann.spec import Spec

SPEC = Spec.model_validate(
    {
        "name": "tickets",
        "description": "Route a ticket.",
        "inputs": ["ticket"],
        "outputs": ["category"],
        "fields": {"category": {"description": "the team", "choices": ["billing", "shipping"]}},
        "metric": "exact_match",
    }
)
GOOD = {
    "layers": [
        {"name": "read", "inputs": ["ticket"], "outputs": ["topic"], "aggregator": "single",
         "agents": [{"name": "reader", "role": "a reader", "instructions": "Say what the ticket is about."}]},
        {"name": "route", "inputs": ["ticket", "topic"], "outputs": ["category"], "aggregator": "vote",
         "agents": [{"name": f"r{i}", "role": "a router", "instructions": "Pick the team."} for i in range(3)]},
    ]
}  # fmt: skip
CYCLE = {
    "layers": [
        {"name": "a", "inputs": ["ticket", "y"], "outputs": ["category"], "aggregator": "single",
         "agents": [{"name": "x", "role": "r", "instructions": "i"}]},
        {"name": "b", "inputs": ["category"], "outputs": ["y"], "aggregator": "single",
         "agents": [{"name": "x", "role": "r", "instructions": "i"}]},
    ]
}  # fmt: skip


def test_a_valid_plan_becomes_the_specs_graph(scripted):
    client = scripted([json.dumps(GOOD)], schema_style="llamacpp")
    planned = asyncio.run(plan_graph(SPEC, [], client))
    graph = graph_from_spec(planned)
    assert graph.order == ["read", "route"] and len(graph.layers["route"].agents) == 3
    request = client.dspy_lm.requests[0]
    assert request["response_format"]["schema"] == plan_schema(3, 3)
    assert "Outputs:\n- category: the team (one of: billing, shipping)" in request["messages"][1]["content"]


def test_a_bad_plan_is_rejected_with_its_reason_and_retried(scripted):
    client = scripted([json.dumps(CYCLE), json.dumps(GOOD)])
    planned = asyncio.run(plan_graph(SPEC, [], client))
    assert [layer.name for layer in planned.graph.layers] == ["read", "route"]
    retry = client.dspy_lm.requests[1]["messages"]
    assert retry[2] == {"role": "assistant", "content": json.dumps(CYCLE)}
    assert retry[3]["content"].startswith("That plan was invalid: layer 'a': cycle in the graph")


def test_the_planner_gives_up_with_the_last_problem(scripted):
    client = scripted(["not json", json.dumps({"layers": []}), json.dumps(CYCLE)])
    with pytest.raises(PlanError, match="no valid graph in 3 tries; last problem: layer 'a': cycle"):
        asyncio.run(plan_graph(SPEC, [], client))
    assert len(client.dspy_lm.requests) == 3


def test_the_fallback_plan_is_one_agent_doing_the_whole_task():
    from ann.optimizers.planner import fallback_plan

    graph = graph_from_spec(fallback_plan(SPEC))
    assert graph.order == ["solve"] and graph.layers["solve"].agents[0].instructions.value == "Route a ticket."
    assert graph.choices == {"category": ["billing", "shipping"]}


def test_a_plan_that_names_a_training_example_is_sent_back_with_the_guards_reason(scripted):
    from ann import Example
    from ann.optimizers.guards import Guards

    train = [Example({"ticket": "Order 48213 arrived broken."}, {"category": "shipping"}, id="t0")]
    copied = json.loads(json.dumps(GOOD))
    copied["layers"][0]["agents"][0]["instructions"] = "If the ticket mentions 48213, it is about shipping."
    client = scripted([json.dumps(copied), json.dumps(GOOD)], schema_style="llamacpp")
    planned = asyncio.run(plan_graph(SPEC, train, client, guards=Guards(train, context="billing shipping")))
    assert planned.graph.layers[0].agents[0].instructions == "Say what the ticket is about."
    retry = client.dspy_lm.requests[1]["messages"][-1]["content"]
    assert "layer 'read', agent 'reader': the instructions names '48213'" in retry
