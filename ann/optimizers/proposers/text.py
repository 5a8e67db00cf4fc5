"""Text proposer: forward a minibatch, turn its failures into textual gradients, rewrite the params.

Rewrites are screened on training examples other than the ones whose failures produced the
gradients, so a rewrite that only fixes its own minibatch (by describing those examples) is
caught before it costs a validation run. The screened winner is the candidate; the gate decides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ann.datasets.example import Example
from ann.evaluate import Metric, aevaluate
from ann.graph import Graph
from ann.optimizers.guards import Guards
from ann.optimizers.loss import LossItem, TextLoss
from ann.optimizers.proposers.candidate import Candidate, Proposed, change_records
from ann.optimizers.tgd import Proposal, TextualGradientDescent
from ann.tasks import gather_all


class TextProposer:
    """Proposes rewrites of the graph's texts from one minibatch's textual gradients.

    Args:
        loss: The textual loss (metric + critic); its backward pass fills the params' grads.
        metric: The task metric, for screening.
        guards: Overfitting guards every rewrite must pass (None: none).
        on_phase: ``fn(text)`` called as the proposer moves on (for progress displays).
    """

    def __init__(
        self, *, loss: TextLoss, metric: Metric, guards: Guards | None, on_phase: Callable[[str], None]
    ) -> None:
        self.loss = loss
        self.metric = metric
        self.guards = guards
        self.on_phase = on_phase
        self.critiques: list[str] = []
        self.solved: list[LossItem] = []

    async def propose(
        self, graph: Graph, opt: TextualGradientDescent, batch: Sequence[Example], screen: Sequence[Example]
    ) -> Proposed:
        """One candidate rewrite (or why there is none); ``critiques`` and ``solved`` describe the minibatch."""
        self.on_phase("forward + loss")
        results = await graph.abatch(list(batch))
        items = await gather_all(*(self.loss.acall(ex, res) for ex, res in zip(batch, results, strict=True)))
        self.loss.items = list(items)  # example order, whichever call finished first
        train_score = self.loss.score
        self.solved = [item for item in items if item.critique is None and item.result.error is None]
        self.critiques = [item.critique for item in items if item.critique]
        self.on_phase("backward")
        await self.loss.abackward()
        if not any(p.grads for _, p, _ in opt.named_params()):
            return Proposed(None, "minibatch solved: no gradient", train_score=train_score)
        self.on_phase("rewrite")
        proposals = await opt.propose(guards=self.guards)
        opt.zero_grad()
        rejected = [r for p in proposals for r in p.rejected]
        proposals = [p for p in proposals if p.changes]
        if not proposals:
            return Proposed(None, "no valid rewrite (all rejected or unparseable)", rejected, train_score)
        if not screen:
            chosen = proposals[0]
            return Proposed(Candidate("text", "", chosen, changes=change_records(chosen)), "", rejected, train_score)
        self.on_phase(f"screening {len(proposals)} rewrite(s) on {len(screen)} other training examples")
        incumbent = (await aevaluate(graph, screen, self.metric)).score
        scores = [await self._screen_score(graph, opt, proposal, screen) for proposal in proposals]
        best = scores.index(max(scores))
        chosen = proposals[best]
        if scores[best] < incumbent:
            opt.record(chosen, before=incumbent, after=scores[best], accepted=False)
            note = (f"screening: the best rewrite scored {scores[best]:.3f} on {len(screen)} other training examples, "
                    f"below the current {incumbent:.3f}")  # fmt: skip
            return Proposed(None, note, rejected, train_score, [incumbent, *scores])
        candidate = Candidate("text", "", chosen, changes=change_records(chosen))
        return Proposed(candidate, "", rejected, train_score, [incumbent, *scores])

    async def _screen_score(
        self, graph: Graph, opt: TextualGradientDescent, proposal: Proposal, screen: Sequence[Example]
    ) -> float:
        opt.apply(proposal)
        try:
            return (await aevaluate(graph, screen, self.metric)).score
        finally:
            opt.revert(proposal)
