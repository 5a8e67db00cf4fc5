"""One compile's run: the graph, the incumbent, the history, the budget and the checkpoint.

``ANNOptimizer`` holds the settings; a ``Session`` is what one ``compile`` call changes as it goes.
Per minibatch the text proposer runs forward, loss and backward and offers a screened rewrite;
the demo and structure proposers may offer theirs; DRAFT offers refined tool docs once, before
the first step. Each candidate is scored on the validation set and handed to the gate with the
incumbent's per-example scores.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ann.build import graph_with_layers
from ann.bundle import layer_specs
from ann.datasets.example import Example
from ann.datasets.fingerprint import dataset_hash
from ann.errors import BudgetExceeded
from ann.evaluate import Metric, aevaluate
from ann.graph import Graph
from ann.optimizers.budget import Budget
from ann.optimizers.checkpoint import load_checkpoint, save_checkpoint
from ann.optimizers.demos import DemoPool
from ann.optimizers.guards import Guards
from ann.optimizers.history import StepRecord, TrainingRun
from ann.optimizers.loss import TextLoss
from ann.optimizers.proposers import (
    Candidate,
    DemoProposer,
    DraftProposer,
    Proposed,
    StructureProposer,
    TextProposer,
)
from ann.optimizers.structure import calls_per_example
from ann.params import HistoryEntry
from ann.spec import GraphSpec
from ann.tools.exploration import DraftRun
from ann.trace import Usage

if TYPE_CHECKING:
    from ann.optimizers.loop import ANNOptimizer

MAX_SCORE = 1.0  # every metric scores in [0, 1]: no step can beat a perfect validation score


@dataclass
class _Snapshot:
    """A graph state the run can return to: param values, layer structure, per-example validation scores."""

    state: dict[str, str]
    structure: list[dict[str, Any]]
    scores: list[float]

    @property
    def score(self) -> float:
        return sum(self.scores) / len(self.scores) if self.scores else 0.0


def _batches(trainset: Sequence[Example], batch_size: int, seed: int, epoch: int) -> list[list[Example]]:
    order = list(trainset)
    random.Random(f"{seed}:{epoch}").shuffle(order)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _screen_set(batches: list[list[Example]], index: int, size: int) -> list[Example]:
    """Training examples other than the minibatch's — the next ones in this epoch's order, wrapping."""
    others = [example for batch in batches[index + 1 :] + batches[:index] for example in batch]
    return others[:size]


class Session:
    """One compile's mutable state: the graph, the incumbent, the history, the budget, the checkpoint."""

    def __init__(
        self, settings: ANNOptimizer, graph: Graph, trainset: list[Example], valset: list[Example], metric: Metric,
        holdout: list[Example],
    ) -> None:  # fmt: skip
        self.s = settings
        self.graph = graph
        self.trainset, self.valset, self.metric, self.holdout = trainset, valset, metric, holdout
        self.forward_lm = graph._client(None)
        self.opt_lm = settings.lm or self.forward_lm
        self.data = {"train": dataset_hash(trainset), "val": dataset_hash(valset)}
        if holdout:
            self.data["holdout"] = dataset_hash(holdout)
        self.fingerprint = {**self.data, "seed": settings.seed, "batch_size": settings.batch_size}
        self.loss = TextLoss(metric, graph=graph, lm=self.opt_lm)
        self.opt = settings._optimizer(graph, self.opt_lm)
        self.call_cap = max(2 * calls_per_example(graph), calls_per_example(graph) + 3)
        self.guards = Guards(trainset, embedder=settings.embedder, context=_context(graph))
        self.pool = DemoPool()
        phase = self._phase
        self.text = TextProposer(loss=self.loss, metric=metric, guards=self.guards, on_phase=phase)
        self.demos = DemoProposer(self.pool, k=settings.demos, seed=settings.seed)
        self.structure = StructureProposer(lm=self.opt_lm, guards=self.guards, max_agents=settings.max_agents,
                                           call_cap=self.call_cap)  # fmt: skip
        self.draft = DraftProposer(settings.draft, lm=self.opt_lm, guards=self.guards, on_phase=phase,
                                   before_tool=self._check) if settings.draft else None  # fmt: skip
        self.budget = Budget(**settings.caps, clients=[self.forward_lm, self.opt_lm])
        self.bad_steps = 0
        self.position = {"epoch": 0, "batch": 0}
        self.draft_done = False
        self.unmeasured = False  # a change was kept since the final validation last measured the graph

    # --- bookkeeping -----------------------------------------------------------------------------

    def _phase(self, text: str) -> None:
        self.s.on_event("phase", {"phase": f"step {len(self.history) + 1}: {text}"})

    def _check(self) -> None:
        self.budget.check()

    @property
    def history(self) -> list[StepRecord]:
        return self.run.history

    def _snapshot(self, scores: list[float]) -> _Snapshot:
        return _Snapshot(self.graph.state_dict(), _structure(self.graph), scores)

    def _save(self) -> None:
        if self.s.checkpoint is None:
            return
        params = dict(self.graph.named_parameters())
        save_checkpoint(self.s.checkpoint, {
            "fingerprint": self.fingerprint, "position": self.position, "bad_steps": self.bad_steps,
            "baseline_score": self.run.baseline_score, "best_score": self.run.best_score,
            "best_state": self.best.state, "structure": self.best.structure, "best_scores": self.best.scores,
            "initial": self.initial.__dict__, "draft_done": self.draft_done,
            "optimizer": self.opt.state_dict(), "history": [r.to_dict() for r in self.history],
            "param_history": {n: [e.__dict__ for e in p.history] for n, p in params.items()},
            "spent": self.budget.usage().__dict__, "seconds": self.budget.elapsed(),
            "demo_pool": self.pool.state_dict(), "draft": [r.model_dump() for r in self.draft_runs],
            "holdout": self.run.holdout, "unmeasured": self.unmeasured,
        })  # fmt: skip

    @property
    def draft_runs(self) -> list[DraftRun]:
        return self.draft.runs if self.draft else []

    def _restore(self) -> None:
        saved = load_checkpoint(self.s.checkpoint, self.fingerprint)  # type: ignore[arg-type]  # checked by train
        if saved.get("structure") and saved["structure"] != _structure(self.graph):
            self._replace(_rebuild(self.graph, saved["structure"]))
        self.graph.load_state_dict(saved["best_state"])
        self.opt.load_state_dict(saved["optimizer"])
        self.pool.load_state_dict(saved.get("demo_pool", {}))
        if self.draft is not None:
            self.draft.runs = [DraftRun.model_validate(r) for r in saved.get("draft", [])]
        params = dict(self.graph.named_parameters())
        for name, entries in saved["param_history"].items():
            params[name].history = [HistoryEntry(**entry) for entry in entries]
        self.run = TrainingRun(saved["baseline_score"], saved["best_score"], data=self.data, holdout=saved["holdout"],
                               history=[StepRecord.from_dict(r) for r in saved["history"]])  # fmt: skip
        self.best = _Snapshot(saved["best_state"], saved["structure"], saved["best_scores"])
        self.initial = _Snapshot(**saved["initial"])
        self.position, self.bad_steps, self.draft_done = saved["position"], saved["bad_steps"], saved["draft_done"]
        self.unmeasured = saved.get("unmeasured", False)
        clients = [self.forward_lm, self.opt_lm]
        self.budget = Budget(**self.s.caps, clients=clients, spent_before=Usage(**saved["spent"]),
                             seconds_before=saved["seconds"])  # fmt: skip

    def _replace(self, edited: Graph) -> None:
        self.graph.replace_structure(edited)
        self.opt = self.s._optimizer(self.graph, self.opt_lm, old=self.opt)
        self.call_cap = max(self.call_cap, calls_per_example(self.graph))

    # --- the loop ----------------------------------------------------------------------------------

    async def train(self, resume: bool) -> Graph:
        if resume:
            if self.s.checkpoint is None:
                raise ValueError("resume needs a checkpoint path")
            self._restore()
            self.s.on_event("baseline", {"score": self.run.baseline_score, "resumed_at": len(self.history)})
        else:
            await self._baseline()
            self._save()
        for client in (self.forward_lm, self.opt_lm):
            client.guard = self.budget.check
        try:
            await self._epochs()
            self.run.stopped = f"finished {self.s.epochs} epoch{'s' if self.s.epochs > 1 else ''}"
        except (BudgetExceeded, _EarlyStop) as stop:
            self.run.stopped = str(stop)
            self.opt.zero_grad()
            self.loss.items = []
        finally:
            for client in (self.forward_lm, self.opt_lm):
                client.guard = None
            # A step cut short may have applied a proposal; the best accepted state is the result.
            self._load(self.best)
        await self._finish()
        return self.graph

    async def _baseline(self) -> None:
        self.s.on_event("phase", {"phase": "baseline validation"})
        self.forward_lm.guard = self.budget.check
        try:
            report = await aevaluate(self.graph, self.valset, self.metric)
        except BudgetExceeded as exc:
            raise BudgetExceeded(f"{exc} before the baseline validation finished; raise the budget") from exc
        finally:
            self.forward_lm.guard = None
        self.best = self.initial = self._snapshot([s.metric.score for s in report.scored])
        for param in self.graph.parameters():
            param.history[-1].score = self.best.score
        self.run = TrainingRun(self.best.score, self.best.score, data=self.data)
        if self.s.demos and self.s.demo_source == "labeled":
            self.pool.add_labeled(self.graph, self.trainset)
        self.s.on_event("baseline", {"score": self.best.score})

    async def _epochs(self) -> None:
        if self.draft is not None and not self.draft_done and self.graph.tools():
            await self._settle(await self.draft.propose(self.graph), epoch=0, batch=0)
            self.draft_done = True
            self._save()
            self._announce(1)
        self.draft_done = True
        if self.position["batch"] and self.bad_steps >= self.s.patience:
            raise self._out_of_patience()  # resumed from the step that ran out of patience: stop as that run did
        for epoch in range(self.position["epoch"], self.s.epochs):
            batches = _batches(self.trainset, self.s.batch_size, self.s.seed, epoch)
            first = self.position["batch"] if epoch == self.position["epoch"] else 0
            for index in range(first, len(batches)):
                if self.best.score >= MAX_SCORE:
                    raise _EarlyStop(f"validation reached {MAX_SCORE:.3f}, the most a metric gives")
                self.budget.check()
                done = len(self.history)
                screen = _screen_set(batches, index, self.s.batch_size)
                text = await self.text.propose(self.graph, self.opt, batches[index], screen)
                if self.s.demos and self.s.demo_source == "bootstrap":
                    self.pool.add(self.text.solved)
                await self._settle(text, epoch=epoch, batch=index)
                if self.s.demos:
                    self.budget.check()
                    await self._settle(self.demos.propose(self.graph, len(self.history) + 1), epoch=epoch, batch=index)
                if self.s.structure:
                    self.budget.check()
                    self._phase("structural edit")
                    edit = await self.structure.propose(self.graph, self.text.critiques, len(self.history) + 1)
                    await self._settle(edit, epoch=epoch, batch=index)
                self.position = {"epoch": epoch, "batch": index + 1}
                self._save()
                self._announce(len(self.history) - done)
                if self.bad_steps >= self.s.patience:
                    raise self._out_of_patience()
            self.position = {"epoch": epoch + 1, "batch": 0}

    def _out_of_patience(self) -> _EarlyStop:
        return _EarlyStop(f"no validation gain in {self.bad_steps} steps (patience {self.s.patience})")

    async def _settle(self, proposed: Proposed, *, epoch: int, batch: int) -> None:
        """Judge a proposer's candidate (if any) and book the step at once, so the next must beat it."""
        candidate = proposed.candidate
        record = StepRecord(len(self.history) + 1, epoch, batch, proposed.train_score, None, self.best.score, False,
                            rejected=proposed.rejected, screened=proposed.screened,
                            note=candidate.note if candidate else proposed.note)  # fmt: skip
        if candidate is not None:
            self.budget.check()
            self._phase(f"validating ({candidate.kind})")
            scores = await self._validate(candidate)
            verdict = self.s.gate.decide(self.best.scores, scores)
            record.val_score, record.accepted = sum(scores) / len(scores), verdict.kept
            record.changes, record.verdict = candidate.changes, verdict.to_dict()
            if candidate.kind == "text":
                self.opt.record(candidate.proposal, before=self.best.score, after=record.val_score,
                                accepted=verdict.kept)  # fmt: skip
            if verdict.kept:
                self._keep(candidate, scores, record)
            elif candidate.graph is None:
                self.opt.revert(candidate.proposal)
        if record.accepted:
            self.bad_steps = 0
        elif candidate is not None or proposed.note.startswith(("no valid", "screening")):
            self.bad_steps += 1
        record.best_score = self.best.score
        self.history.append(record)

    async def _validate(self, candidate: Candidate) -> list[float]:
        if candidate.graph is not None:
            report = await aevaluate(candidate.graph, self.valset, self.metric)
        else:
            self.opt.apply(candidate.proposal)
            report = await aevaluate(self.graph, self.valset, self.metric)
        return [item.metric.score for item in report.scored]

    def _keep(self, candidate: Candidate, scores: list[float], record: StepRecord) -> None:
        before = self.best.score
        self.unmeasured = True
        if candidate.graph is not None:
            self._replace(candidate.graph)
        self.best = self._snapshot(scores)
        self.run.best_score = self.best.score
        # Each changed param keeps its provenance: the step, the gradient it answered, and the evidence.
        evidence = {"val_before": before, "val_after": self.best.score, **(record.verdict or {})}
        evidence.pop("kept", None)  # always true here
        params = dict(self.graph.named_parameters())
        for change in candidate.changes:
            if change["param"] in params:
                params[change["param"]].history.append(HistoryEntry(
                    change["new"], self.best.score, record.step, gradient=change.get("gradient"), evidence=evidence,
                ))  # fmt: skip

    def _announce(self, count: int) -> None:
        steps_per_batch = 1 + bool(self.s.demos) + self.s.structure
        total = self.s.epochs * -(-len(self.trainset) // self.s.batch_size) * steps_per_batch
        for record in self.history[len(self.history) - count :]:
            self.s.on_event("step", {"record": record, "usage": self.budget.usage(), "elapsed": self.budget.elapsed(),
                                     "total_steps": total})  # fmt: skip

    def _load(self, snapshot: _Snapshot) -> None:
        if snapshot.structure != _structure(self.graph):
            self._replace(_rebuild(self.graph, snapshot.structure))
        self.graph.load_state_dict(snapshot.state)

    async def _finish(self) -> None:
        """Measure the final graph afresh, make the holdout pick, and close the run's accounts.

        The checkpoint records the outcome, so resuming a finished run measures nothing again, and
        resuming one killed mid-measurement measures again.
        """
        if self.unmeasured:
            self.s.on_event("phase", {"phase": "final validation"})
            self.run.best_score = (await aevaluate(self.graph, self.valset, self.metric)).score
            if self.holdout:
                await self._pick_on_holdout()
            self.unmeasured = False
            self._save()
        self.run.usage, self.run.elapsed_s, self.run.draft = self.budget.usage(), self.budget.elapsed(), self.draft_runs
        self.s.last_run, self.s.draft_runs = self.run, self.draft_runs
        self.s.on_event("stop", {"reason": self.run.stopped, "run": self.run})

    async def _pick_on_holdout(self) -> None:
        self.s.on_event("phase", {"phase": f"holdout: untrained vs trained on {len(self.holdout)} examples"})
        trained = (await aevaluate(self.graph, self.holdout, self.metric)).score
        self._load(self.initial)
        untrained = (await aevaluate(self.graph, self.holdout, self.metric)).score
        picked = "trained" if trained >= untrained else "untrained"
        if picked == "trained":
            self._load(self.best)
        else:
            self.best = self.initial
            self.run.best_score = self.initial.score
            self.run.stopped += "; the holdout split scored the trained graph lower, so the untrained one is kept"
        self.run.holdout = {"untrained": untrained, "trained": trained, "picked": picked, "n": len(self.holdout)}


def _context(graph: Graph) -> str:
    """What any text the optimizer writes may name: the task, its fields and their label choices."""
    choices = [choice for options in graph.choices.values() for choice in options]
    return "\n".join([graph.task.value, *graph.fields, *graph.fields.values(), *graph.inputs, *graph.outputs, *choices])


def _structure(graph: Graph) -> list[dict[str, Any]]:
    """The graph's layers as JSON-ready spec dicts (what a checkpoint needs to rebuild its shape)."""
    return [layer.model_dump(mode="json") for layer in layer_specs(graph)]


def _rebuild(graph: Graph, layers: list[dict[str, Any]]) -> Graph:
    return graph_with_layers(graph, GraphSpec.model_validate({"layers": layers}).layers)


class _EarlyStop(Exception):
    """Patience ran out (internal control flow, never escapes compile)."""
