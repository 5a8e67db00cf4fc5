"""DemoPool: worked examples offered back to agents as demos — bootstrapped or labeled.

Bootstrapped (DSPy's BootstrapFewShot): from solved training runs, each layer's *chosen* answer —
the call whose outputs the layer's aggregator kept — never a vote loser or an extra sample.
Labeled (DSPy's LabeledFewShot): for a layer that reads only task inputs and writes task outputs,
the training example itself, with its expected values as the answer. A small model copies the
style of its demos, so a lenient metric's "solved" but rambling reply makes a poor demo; the
expected values are clean by construction. Either way the pool only proposes; the gate decides.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from ann.datasets.example import Example
from ann.graph import Graph
from ann.optimizers.loss import LossItem
from ann.optimizers.tgd import Change, Proposal
from ann.params import Param
from ann.trace import CallRecord, LayerRecord

DemoSource = Literal["bootstrap", "labeled"]
Demo = dict[str, dict[str, Any]]  # {"inputs": {...}, "outputs": {...}}


def _key(demo: Demo) -> str:
    return json.dumps(demo, sort_keys=True, ensure_ascii=False, default=str)


def chosen_calls(record: LayerRecord, calls: Iterable[CallRecord]) -> list[CallRecord]:
    """The answer calls whose outputs are what the layer kept: the winners, never a loser."""
    return [
        call
        for call in calls
        if call.layer == record.layer and call.purpose == "answer" and not call.error and call.outputs
        and all(call.outputs.get(name) == value for name, value in record.outputs.items())
    ]  # fmt: skip


class DemoPool:
    """Per agent (its demos param name), the distinct worked examples seen so far."""

    def __init__(self) -> None:
        self.demos: dict[str, list[Demo]] = {}

    def _offer(self, name: str, demo: Demo) -> None:
        known = self.demos.setdefault(name, [])
        if demo not in known:
            known.append(demo)

    def add(self, items: Iterable[LossItem]) -> None:
        """Bootstrap: in solved runs, each agent's answers that its layer kept."""
        for item in items:
            trace = item.result.trace
            for record in trace.layers:
                if record.error is not None:
                    continue
                for call in chosen_calls(record, trace.calls):
                    demo = {"inputs": call.inputs, "outputs": {k: call.outputs[k] for k in record.outputs}}
                    self._offer(f"{call.layer}.{call.agent}.demos", demo)

    def add_labeled(self, graph: Graph, examples: Sequence[Example]) -> None:
        """Label: each training example as a demo for every agent of a layer that maps task inputs to
        task outputs (its expected values are the answer)."""
        for layer in graph.layers.values():
            if not set(layer.inputs) <= set(graph.inputs) or not set(layer.outputs) <= set(graph.outputs):
                continue
            for example in examples:
                if not all(name in example.expected for name in layer.outputs):
                    continue
                demo = {
                    "inputs": {name: example.inputs[name] for name in layer.inputs},
                    "outputs": {name: example.expected[name] for name in layer.outputs},
                }
                for agent in layer.agents:
                    self._offer(f"{layer.name}.{agent.name}.demos", demo)

    def propose(self, params: dict[str, Param], *, k: int, seed: str) -> Proposal:
        """For each agent with pooled demos, up to ``k`` of them, spread over distinct answers.

        The choice depends only on the pool's contents and ``seed``, not on the order demos arrived in.
        """
        proposal = Proposal()
        for name, pooled in sorted(self.demos.items()):
            param = params.get(name)
            if param is None or not param.trainable:
                continue
            ordered = sorted(pooled, key=_key)
            chosen = [{**demo["inputs"], **demo["outputs"]} for demo in spread(ordered, k, random.Random(seed))]
            value = json.dumps(chosen, ensure_ascii=False)
            if value != param.value:
                proposal.changes.append(Change(name, param.value, value, f"{len(pooled)} worked examples in the pool"))
        return proposal

    def state_dict(self) -> dict[str, Any]:
        return {"demos": self.demos}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.demos = {name: list(items) for name, items in state.get("demos", {}).items()}


def spread(pooled: list[Demo], k: int, rng: random.Random) -> list[Demo]:
    """Up to ``k`` demos taken round-robin over groups with the same outputs, so that the demos do
    not all show one answer (a small model copies the majority label of its demos)."""
    groups: dict[str, list[Demo]] = {}
    for demo in rng.sample(pooled, len(pooled)):
        groups.setdefault(json.dumps(demo["outputs"], sort_keys=True), []).append(demo)
    chosen: list[Demo] = []
    queues = list(groups.values())
    while len(chosen) < k and any(queues):
        for queue in queues:
            if queue and len(chosen) < k:
                chosen.append(queue.pop(0))
    return chosen
