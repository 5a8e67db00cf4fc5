"""DemoPool: worked examples an agent produced in solved training runs, offered back as demos.

DSPy bootstraps demos this way; ann adds them as a proposal like any other — measured on the
validation set and kept only if the score rises — alongside the textual-gradient rewrites.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from typing import Any

from ann.optimizers.loss import LossItem
from ann.optimizers.tgd import Change, Proposal
from ann.params import Param


class DemoPool:
    """Per agent (its demos param name), the distinct calls it made in solved training runs."""

    def __init__(self) -> None:
        self.demos: dict[str, list[dict[str, dict[str, Any]]]] = {}

    def add(self, items: Iterable[LossItem]) -> None:
        for item in items:
            for call in item.result.trace.calls:
                if call.purpose != "answer" or call.error or not call.outputs:
                    continue
                demo = {"inputs": call.inputs, "outputs": call.outputs}
                known = self.demos.setdefault(f"{call.layer}.{call.agent}.demos", [])
                if demo not in known:
                    known.append(demo)

    def propose(self, params: dict[str, Param], *, k: int, seed: str) -> Proposal:
        """For each agent with pooled demos, up to ``k`` of them, spread over distinct answers."""
        proposal = Proposal()
        rng = random.Random(seed)
        for name, pooled in sorted(self.demos.items()):
            param = params.get(name)
            if param is None or not param.trainable:
                continue
            chosen = [{**demo["inputs"], **demo["outputs"]} for demo in spread(pooled, k, rng)]
            value = json.dumps(chosen, ensure_ascii=False)
            if value != param.value:
                proposal.changes.append(Change(name, param.value, value, f"{len(pooled)} worked examples in the pool"))
        return proposal

    def state_dict(self) -> dict[str, Any]:
        return {"demos": self.demos}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.demos = {name: list(items) for name, items in state.get("demos", {}).items()}


def spread(pooled: list[dict[str, dict[str, Any]]], k: int, rng: random.Random) -> list[dict[str, dict[str, Any]]]:
    """Up to ``k`` demos taken round-robin over groups with the same outputs, so that the demos do
    not all show one answer (a small model copies the majority label of its demos)."""
    groups: dict[str, list[dict[str, dict[str, Any]]]] = {}
    for demo in rng.sample(pooled, len(pooled)):
        groups.setdefault(json.dumps(demo["outputs"], sort_keys=True), []).append(demo)
    chosen: list[dict[str, dict[str, Any]]] = []
    queues = list(groups.values())
    while len(chosen) < k and any(queues):
        for queue in queues:
            if queue and len(chosen) < k:
                chosen.append(queue.pop(0))
    return chosen
