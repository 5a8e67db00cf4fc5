"""The `graphml` export: the layer DAG as GraphML (written by networkx), for graph tools such as yEd or Gephi."""

from __future__ import annotations

import networkx as nx

from ann.graph import INPUT, Graph


def export_graphml(graph: Graph) -> str:
    """One node per layer (plus ``<input>`` and ``<output>``), one edge per producer → reader pair.

    GraphML attributes are scalars, so lists are joined with ``", "``: a layer's ``agents``,
    ``inputs`` and ``outputs``, an edge's ``fields``.
    """
    dag = nx.DiGraph(name=graph.name, description=graph.task.value)
    dag.add_node(INPUT, kind="input", fields=", ".join(graph.inputs))
    for name in graph.order:
        layer = graph.layers[name]
        dag.add_node(
            name,
            kind="layer",
            team_type=layer.aggregator.value,
            agents=", ".join(agent.name for agent in layer.agents),
            samples=layer.samples,
            inputs=", ".join(layer.inputs),
            outputs=", ".join(layer.outputs),
        )
    for source, target, data in graph.dag.edges(data=True):
        dag.add_edge(source, target, fields=", ".join(data["fields"]))
    output = "<output>"
    dag.add_node(output, kind="output", fields=", ".join(graph.outputs))
    for field in graph.outputs:
        producer = next(name for name in graph.order if field in graph.layers[name].outputs)
        if dag.has_edge(producer, output):
            dag.edges[producer, output]["fields"] += f", {field}"
        else:
            dag.add_edge(producer, output, fields=field)
    return "\n".join(nx.generate_graphml(dag, prettyprint=True)) + "\n"
