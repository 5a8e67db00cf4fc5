"""The `mermaid` export: the graph as a Mermaid flowchart, edges labelled with the fields they carry."""

from __future__ import annotations

from ann.graph import INPUT, Graph

_INPUT_ID, _OUTPUT_ID = "graph_input", "graph_output"


def _label(text: str) -> str:
    # Mermaid reads a quoted label up to the next quote; entity codes keep quotes and markup literal.
    return '"' + text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") + '"'


def _node_id(name: str) -> str:
    return _INPUT_ID if name == INPUT else f"layer_{name}"


def export_mermaid(graph: Graph) -> str:
    """A ``flowchart LR`` with the inputs, each layer (team type and agents) and the outputs."""
    lines = ["flowchart LR", f"    {_INPUT_ID}([{_label('input: ' + ', '.join(graph.inputs))}])"]
    for name in graph.order:
        layer = graph.layers[name]
        agents = ", ".join(agent.name for agent in layer.agents)
        samples = f" ×{layer.samples}" if layer.samples > 1 else ""
        lines.append(f"    {_node_id(name)}[{_label(f'{name} · {layer.aggregator.value}{samples} · {agents}')}]")
    lines.append(f"    {_OUTPUT_ID}([{_label('output: ' + ', '.join(graph.outputs))}])")
    for source, target, fields in graph.edges():
        lines.append(f"    {_node_id(source)} -->|{_label(', '.join(fields))}| {_node_id(target)}")
    producers = {field: name for name in graph.order for field in graph.layers[name].outputs}
    for name in dict.fromkeys(producers[field] for field in graph.outputs):
        fields = [field for field in graph.outputs if producers[field] == name]
        lines.append(f"    {_node_id(name)} -->|{_label(', '.join(fields))}| {_OUTPUT_ID}")
    return "\n".join(lines) + "\n"
