"""Demo proposer: worked examples from the pool as each agent's demos (bootstrapped or labeled)."""

from __future__ import annotations

from ann.graph import Graph
from ann.optimizers.demos import DemoPool
from ann.optimizers.proposers.candidate import Candidate, Proposed, change_records


class DemoProposer:
    """Proposes up to ``k`` demos per agent from ``pool``; the choice is seeded by the step."""

    def __init__(self, pool: DemoPool, *, k: int, seed: int) -> None:
        self.pool = pool
        self.k = k
        self.seed = seed

    def propose(self, graph: Graph, step: int) -> Proposed:
        proposal = self.pool.propose(dict(graph.named_parameters()), k=self.k, seed=f"{self.seed}:{step}")
        if not proposal.changes:
            return Proposed(None, "demos: no new worked examples yet")
        return Proposed(Candidate("demos", "demos", proposal, changes=change_records(proposal)))
