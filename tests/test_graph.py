import pytest

from ann import Agent, Graph, GraphError, Layer, RunError


def layer(name, inputs, outputs, aggregator="single", agents=1):
    return Layer(name, [Agent(f"a{i}") for i in range(agents)], aggregator, inputs=inputs, outputs=outputs)


def three_layers():
    return [
        layer("plan", ["question"], ["plan"]),
        layer("solve", ["question", "plan"], ["draft"], "vote", agents=3),
        layer("check", ["draft"], ["answer"]),
    ]


def test_dag_edges_carry_field_names_and_order_is_topological():
    graph = Graph(list(reversed(three_layers())), inputs=["question"], outputs=["answer"])
    assert graph.order == ["plan", "solve", "check"]
    assert graph.dag.edges["plan", "solve"]["fields"] == ["plan"]
    assert graph.dag.edges["<input>", "solve"]["fields"] == ["question"]


@pytest.mark.parametrize("seed", range(30))
def test_layer_order_is_networkx_topological_order(seed):
    # The order is computed without networkx (so `ann show` need not import it), and must stay
    # what networkx gave: it orders params in bundles and calls in traces.
    import random

    import networkx as nx

    rng = random.Random(seed)
    count = rng.randint(1, 7)
    layers = []
    for i in range(count):
        reads = [f"f{j}" for j in range(i) if rng.random() < 0.4] or ["question"]
        layers.append(layer(f"l{i}", reads, [f"f{i}"]))
    rng.shuffle(layers)
    graph = Graph(layers, inputs=["question"], outputs=[f"f{count - 1}"])
    assert graph.order == [node for node in nx.topological_sort(graph.dag) if node != "<input>"]


def test_a_cycle_is_named_from_its_first_layer():
    layers = [layer("z", ["question"], ["w"]), layer("b", ["x"], ["y"]), layer("a", ["y", "w"], ["x"])]
    with pytest.raises(GraphError, match="layer 'b': cycle in the graph: b -> a -> b"):
        Graph(layers, inputs=["question"], outputs=["x"])


def test_cycle_is_rejected_naming_layers():
    layers = [layer("a", ["question", "y"], ["x"]), layer("b", ["x"], ["y"])]
    with pytest.raises(GraphError, match="cycle in the graph: .*a.*b|cycle in the graph: .*b.*a"):
        Graph(layers, inputs=["question"], outputs=["x"])


def test_missing_producer_names_layer_and_field():
    with pytest.raises(GraphError, match="layer 'solve': input 'plan' is not a graph input"):
        Graph([layer("solve", ["question", "plan"], ["answer"])], inputs=["question"], outputs=["answer"])


def test_duplicate_layer_name():
    with pytest.raises(GraphError, match="layer 'a': duplicate layer name"):
        Graph([layer("a", ["q"], ["x"]), layer("a", ["x"], ["y"])], inputs=["q"], outputs=["y"])


def test_field_produced_twice():
    with pytest.raises(GraphError, match="layer 'b': output 'x' is already produced by layer 'a'"):
        Graph([layer("a", ["q"], ["x"]), layer("b", ["q"], ["x"])], inputs=["q"], outputs=["x"])


def test_output_not_produced():
    with pytest.raises(GraphError, match="output 'answer' is not produced"):
        Graph([layer("a", ["q"], ["x"])], inputs=["q"], outputs=["answer"])


def test_unknown_aggregator_and_empty_team():
    with pytest.raises(GraphError, match="layer 'a': unknown aggregator 'votee'; known: single, vote"):
        layer("a", ["q"], ["x"], aggregator="votee")
    with pytest.raises(GraphError, match="layer 'a': the team is empty"):
        Layer("a", [], "vote", inputs=["q"], outputs=["x"])
    with pytest.raises(GraphError, match="layer 'a': duplicate agent names"):
        Layer("a", [Agent("x"), Agent("x")], "vote", inputs=["q"], outputs=["x"])
    with pytest.raises(GraphError, match="aggregator 'single' does not take 2 agents"):
        layer("a", ["q"], ["x"], agents=2)


def test_named_parameters_are_dotted_unique_and_state_dict_round_trips():
    graph = Graph(three_layers(), inputs=["question"], outputs=["answer"])
    names = [name for name, _ in graph.named_parameters()]
    assert "solve.a2.instructions" in names and "plan.aggregator" in names
    assert names[0] == "task"
    assert len(names) == len(set(names)) == 1 + (1 + 3) + (1 + 3 * 3) + (1 + 3)
    shared = graph.layers["plan"].agents[0].role
    graph.layers["check"].agents[0].role = shared
    assert len(graph.parameters()) == len(names) - 1
    state = graph.state_dict()
    state["solve.a0.instructions"] = "new text"
    graph.load_state_dict(state)
    assert graph.layers["solve"].agents[0].instructions.value == "new text"


def test_load_state_dict_checks_before_mutating():
    graph = Graph(three_layers(), inputs=["question"], outputs=["answer"])
    state = graph.state_dict()
    state["solve.a0.instructions"] = "changed"
    state["nope.x"] = "y"
    with pytest.raises(GraphError, match="unknown \\['nope.x'\\]"):
        graph.load_state_dict(state)
    assert graph.layers["solve"].agents[0].instructions.value == ""


def test_forward_passes_fields_between_layers(scripted):
    def reply(messages):
        user = messages[-1]["content"]
        system = messages[0]["content"]
        if "plan" in system.lower() and "Reply with the plan" in system:
            return "PLAN-1"
        if "Reply with the draft" in system:
            assert "PLAN-1" in user, user
            return "draft 7"
        assert user == "draft 7"
        return "7"

    graph = Graph(three_layers(), inputs=["question"], outputs=["answer"], lm=scripted(reply))
    result = graph(question="what?")
    assert result.outputs == {"answer": "7"}
    assert [c.layer for c in result.trace.calls].count("solve") == 3
    assert [r.layer for r in result.trace.layers] == ["plan", "solve", "check"]


def test_missing_input_and_no_model(scripted):
    graph = Graph(three_layers(), inputs=["question"], outputs=["answer"])
    with pytest.raises(GraphError, match="no model"):
        graph(question="x")
    with pytest.raises(RunError, match="missing graph inputs \\['question'\\]"):
        graph(lm=scripted(["x"]), q="x")
