"""Structure proposer: one typed edit of the graph (team type, agents, layers) from the critiques.

The texts an edit brings in (a new agent's or layer's role and instructions) pass the same
overfitting guards as every rewrite.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ann.errors import GraphError
from ann.graph import Graph
from ann.lm import ModelClient
from ann.optimizers.describe import describe_layer
from ann.optimizers.guards import Guards
from ann.optimizers.proposers.candidate import Candidate, Proposed
from ann.optimizers.structure import apply_edit, describe_edit, propose_edit
from ann.trace import Trace


class StructureProposer:
    """Asks the architect model for one edit and builds the edited graph within the bounds."""

    def __init__(self, *, lm: ModelClient, guards: Guards | None, max_agents: int, call_cap: int) -> None:
        self.lm = lm
        self.guards = guards
        self.max_agents = max_agents
        self.call_cap = call_cap
        self.trace = Trace(example_id="structure")

    async def propose(self, graph: Graph, critiques: Sequence[str], step: int) -> Proposed:
        if not critiques:
            return Proposed(None, "structure: minibatch solved, nothing to fix")
        edit = await propose_edit(graph, critiques, self.lm, self.trace, max_agents=self.max_agents, sample=step)
        if edit is None:
            return Proposed(None, "structure: no usable edit proposed")
        texts = [getattr(edit, name, "") for name in ("role", "instructions")]
        if self.guards is not None:
            allowed = f"{graph.task.value}\n" + "\n".join(describe_layer(graph.layers[n]) for n in graph.order)
            for text in filter(None, texts):
                reason = await self.guards.check(text, allowed=allowed)
                if reason is not None:
                    return Proposed(None, f"structure: rejected edit ({reason})",
                                    [{"param": "structure", "reason": reason}])  # fmt: skip
        try:
            edited = apply_edit(graph, edit, max_agents=self.max_agents, max_calls=self.call_cap)
        except GraphError as exc:
            return Proposed(None, f"structure: rejected edit ({exc})", [{"param": "structure", "reason": str(exc)}])
        before = json.dumps([describe_layer(graph.layers[n]) for n in graph.order])
        after = json.dumps([describe_layer(edited.layers[n]) for n in edited.order])
        change = {"param": "structure", "old": before, "new": after, "gradient": edit.reason}
        return Proposed(Candidate("structure", f"structure: {describe_edit(edit)}", graph=edited, changes=[change]))
