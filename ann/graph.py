"""Graph: layers of agent teams as a DAG whose edges carry the fields they pass."""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ann.errors import GraphError
from ann.layers.layer import Layer
from ann.params import Param

if TYPE_CHECKING:
    import networkx as nx

    from ann.datasets.example import Example
    from ann.engine import Result
    from ann.lm import ModelClient
    from ann.spec import FieldSpec

INPUT = "<input>"


class Graph:
    """A DAG of layers; ``graph(**inputs)`` runs one example through it.

    Args:
        layers: The layers, in any order; the DAG follows from their input and output fields.
        inputs: Fields the caller supplies.
        outputs: Fields the graph returns; each must be produced by some layer.
        name: A short name for reports.
        description: What the task is, in words; kept as the ``task`` param, context for the optimizer.
        fields: Optional descriptions of fields, shown to agents next to field names.
        choices: Fields whose value must be one of a fixed list (a label set); replies are
            constrained to it where the backend supports schemas and checked everywhere.
        types: Fields with a declared type or pattern (``FieldSpec.typed``); constrained and
            checked like choices.
        lm: The model client used when a call does not pass one.

    Raises:
        GraphError: Duplicate layer names, a field produced twice, an input nobody produces, an
            output nobody produces, or a cycle — naming the layer and field.

    Example:
        >>> solve = Layer("solve", [Agent("a"), Agent("b"), Agent("c")], "vote",
        ...               inputs=["question"], outputs=["answer"])
        >>> graph = Graph([solve], inputs=["question"], outputs=["answer"], lm=ann.connect())
        >>> graph(question="What is 6 * 7?").outputs["answer"]
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        *,
        inputs: Sequence[str],
        outputs: Sequence[str],
        name: str = "graph",
        description: str = "",
        fields: dict[str, str] | None = None,
        choices: dict[str, list[str]] | None = None,
        types: dict[str, FieldSpec] | None = None,
        lm: ModelClient | None = None,
    ) -> None:
        self.name = name
        self.task = Param(
            description,
            description="what the whole system is for, in words; context for the optimizer",
            trainable=False,
            kind="task",
        )
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.fields = dict(fields or {})
        self.choices = {name: list(values) for name, values in (choices or {}).items()}
        self.types = dict(types or {})
        self.lm = lm
        self.layers: dict[str, Layer] = {}
        for layer in layers:
            if layer.name in self.layers or layer.name == INPUT:
                raise GraphError(f"layer '{layer.name}': duplicate layer name")
            self.layers[layer.name] = layer
        # (source, target) -> the fields that edge passes, in the order the edges were found
        self._edges = self._build()
        self.order: list[str] = [node for node in _topological_order(self._edges, self.layers) if node != INPUT]

    def edges(self) -> list[tuple[str, str, list[str]]]:
        """Each edge as ``(source, target, fields)``, in the order ``dag.edges(data=True)`` gives them.

        Sources are ``<input>`` or a layer. No networkx needed: a Mermaid export draws from this.
        """
        nodes = [INPUT, *self.layers]
        edges = [(source, target, list(fields)) for (source, target), fields in self._edges.items()]
        return sorted(edges, key=lambda edge: nodes.index(edge[0]))  # stable: each source's edges keep their order

    @property
    def dag(self) -> nx.DiGraph:
        """The graph as a networkx DiGraph: nodes are ``<input>`` and the layers, edges carry ``fields``.

        Built on request, so that a command that never asks for it (`ann show`) never imports networkx.
        """
        import networkx as nx

        dag = nx.DiGraph()
        dag.add_node(INPUT)
        for layer in self.layers.values():
            dag.add_node(layer.name, layer=layer)
        for source, target, fields in self.edges():
            dag.add_edge(source, target, fields=fields)
        return dag

    def _build(self) -> dict[tuple[str, str], list[str]]:
        if not self.inputs:
            raise GraphError("graph: no inputs; name at least one input field")
        producer: dict[str, str] = {name: INPUT for name in self.inputs}
        for layer in self.layers.values():
            for name in layer.outputs:
                if name in producer:
                    first = "the graph input" if producer[name] == INPUT else f"layer '{producer[name]}'"
                    raise GraphError(f"layer '{layer.name}': output '{name}' is already produced by {first}")
                producer[name] = layer.name
        edges: dict[tuple[str, str], list[str]] = {}
        for layer in self.layers.values():
            for name in layer.inputs:
                if name not in producer:
                    raise GraphError(
                        f"layer '{layer.name}': input '{name}' is not a graph input nor any layer's output"
                    )
                edges.setdefault((producer[name], layer.name), []).append(name)
        for name in self.outputs:
            if name not in producer or producer[name] == INPUT:
                raise GraphError(f"graph: output '{name}' is not produced by any layer")
        for name, values in self.choices.items():
            if name not in producer or producer[name] == INPUT:
                raise GraphError(f"field '{name}': choices are given but no layer produces it")
            if not values or not all(isinstance(v, str) and v for v in values):
                raise GraphError(f"field '{name}': choices must be a non-empty list of non-empty strings")
        for name in self.types:
            if name not in producer or producer[name] == INPUT:
                raise GraphError(f"field '{name}': a type is given but no layer produces it")
        return edges

    def named_parameters(self) -> Iterator[tuple[str, Param]]:
        """Every param with its dotted name (``solve.alice.instructions``), each param once."""
        seen: set[int] = {id(self.task)}
        yield "task", self.task
        for layer_name in self.order:
            for name, param in self.layers[layer_name].named_parameters():
                if id(param) not in seen:
                    seen.add(id(param))
                    yield f"{layer_name}.{name}", param

    def tools(self) -> list[Any]:
        """Each tool (``ann.tools.Tool``) the graph's agents and team types may call, once, in graph order."""
        seen: dict[int, Any] = {}
        for name in self.order:
            layer = self.layers[name]
            for tool in [*(tool for agent in layer.agents for tool in agent.tools), *layer.tools]:
                seen.setdefault(id(tool), tool)
        return list(seen.values())

    def parameters(self) -> list[Param]:
        return [param for _, param in self.named_parameters()]

    def replace_structure(self, other: Graph) -> None:
        """Take ``other``'s layers (a structural edit that was kept); inputs, outputs and task stay."""
        if other.inputs != self.inputs or other.outputs != self.outputs:
            raise GraphError("a structural edit may not change the graph's inputs or outputs")
        self.layers, self._edges, self.order = other.layers, other._edges, other.order

    def freeze(self, *patterns: str) -> list[str]:
        """Make params matching any pattern (``solve.*.role``, ``*.instructions``) untrainable.

        Returns:
            The names frozen.

        Raises:
            GraphError: A pattern matches no param (a typo must not pass silently).
        """
        frozen = []
        params = dict(self.named_parameters())
        for pattern in patterns:
            matched = [name for name in params if fnmatch.fnmatchcase(name, pattern)]
            if not matched:
                raise GraphError(f"freeze: '{pattern}' matches no param (params: {', '.join(params)})")
            for name in matched:
                params[name].trainable = False
                frozen.append(name)
        return frozen

    def save(self, path: str | Path) -> None:
        """Write this graph, with its current param values, as a bundle file."""
        from ann.bundle import make_bundle, save_bundle  # bundle builds on graph

        save_bundle(make_bundle(self), path)

    @classmethod
    def load(cls, path: str | Path, *, lm: ModelClient | None = None, trust_tools: bool = False) -> Graph:
        """Rebuild a graph from a bundle file (params, history and frozen flags included).

        Args:
            path: The bundle file.
            lm: The graph's default model.
            trust_tools: Import the bundle's tools file even if it lies outside the bundle's folder
                or differs from the sha256 the bundle recorded (see ``ann.trust``).

        Raises:
            ConfigError: The file is not a valid bundle.
            TrustError: Its tools file is not trusted.
        """
        from ann.build import graph_from_spec
        from ann.bundle import load_bundle, restore_params  # bundle builds on graph
        from ann.trust import check_tools

        bundle = load_bundle(path)
        check_tools(bundle.spec.tools, Path(path), recorded=bundle.tools_sha256, bundle=True, trust=trust_tools)
        graph = graph_from_spec(bundle.spec, lm=lm, source=path)
        restore_params(graph, bundle)
        return graph

    def state_dict(self) -> dict[str, str]:
        """Every param's current value by dotted name; JSON-serialisable."""
        return {name: param.value for name, param in self.named_parameters()}

    def load_state_dict(self, state: dict[str, str]) -> None:
        """Set param values from ``state_dict()`` output; checks everything before changing anything.

        Raises:
            GraphError: Unknown or missing names, or values that are not strings.
        """
        params = dict(self.named_parameters())
        unknown = sorted(set(state) - set(params))
        missing = sorted(set(params) - set(state))
        if unknown or missing:
            raise GraphError(f"state dict does not match the graph: unknown {unknown}, missing {missing}")
        wrong = sorted(name for name, value in state.items() if not isinstance(value, str))
        if wrong:
            raise GraphError(f"state dict values must be strings: {wrong}")
        for name, value in state.items():
            params[name].value = value

    def _client(self, lm: ModelClient | None) -> ModelClient:
        client = lm or self.lm
        if client is None:
            raise GraphError("no model: pass lm=ann.connect() to Graph(...) or to the call")
        return client

    async def acall(self, *, lm: ModelClient | None = None, **inputs: Any) -> Result:
        """Run one example.

        Raises:
            RunError: A layer failed (its trace is on the error as ``.trace``).
            LMError: The model could not be reached.
        """
        from ann.engine import run_graph  # here, not at the top: building a graph (`ann show`) runs nothing

        return await run_graph(self, inputs, self._client(lm), raise_errors=True)

    def __call__(self, *, lm: ModelClient | None = None, **inputs: Any) -> Result:
        """Run one example synchronously; see ``acall``."""
        return _run_sync(self.acall(lm=lm, **inputs))

    async def abatch(
        self,
        examples: Sequence[Example],
        *,
        lm: ModelClient | None = None,
        on_result: Callable[[Example, Result], None] | None = None,
    ) -> list[Result]:
        """Run many examples concurrently under the model's concurrency limit.

        A failed example gives a Result with ``error`` set, also when a model call kept failing; a
        model that answers no call raises LMError, and more failed calls than the model's
        ``max_failures`` raise TooManyFailures (see ``ann.engine.run_batch``).
        """
        from ann.engine import run_batch  # here, not at the top: building a graph (`ann show`) runs nothing

        return await run_batch(self, examples, self._client(lm), on_result=on_result)

    def batch(
        self,
        examples: Sequence[Example],
        *,
        lm: ModelClient | None = None,
        on_result: Callable[[Example, Result], None] | None = None,
    ) -> list[Result]:
        """Synchronous ``abatch``."""
        return _run_sync(self.abatch(examples, lm=lm, on_result=on_result))

    def __repr__(self) -> str:
        return f"Graph({self.name!r}, layers={self.order})"


def _run_sync(coro: Any) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    coro.close()
    raise GraphError("called synchronously inside a running event loop; use `await graph.acall(...)` instead")


def _topological_order(edges: dict[tuple[str, str], list[str]], layers: dict[str, Layer]) -> list[str]:
    """``<input>`` and the layers in dependency order, generation by generation (as networkx's
    ``topological_sort`` gives them, so orders stay what they were when networkx computed them).

    Raises:
        GraphError: The layers form a cycle, named layer by layer.
    """
    nodes = [INPUT, *layers]
    children: dict[str, list[str]] = {node: [] for node in nodes}
    waiting: dict[str, int] = dict.fromkeys(nodes, 0)
    for source, target in edges:
        children[source].append(target)
        waiting[target] += 1
    order: list[str] = []
    generation = [node for node in nodes if waiting[node] == 0]
    while generation:
        order += generation
        ready = []
        for node in generation:
            for child in children[node]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        generation = ready
    if len(order) < len(nodes):
        cycle = _a_cycle([node for node in nodes if waiting[node] > 0], children)
        raise GraphError(f"layer '{cycle[0]}': cycle in the graph: {' -> '.join([*cycle, cycle[0]])}")
    return order


def _a_cycle(stuck: list[str], children: dict[str, list[str]]) -> list[str]:
    """One cycle among the layers a topological sort could not place (each has a stuck parent),
    starting from its first layer in ``stuck``'s order."""
    parents = {child: node for node in stuck for child in children[node] if child in stuck}
    node, seen = stuck[0], []
    while node not in seen:
        seen.append(node)
        node = parents[node]
    cycle = list(reversed(seen[seen.index(node) :]))
    first = cycle.index(min(cycle, key=stuck.index))
    return cycle[first:] + cycle[:first]
