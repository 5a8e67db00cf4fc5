"""ANNOptimizer.compile: the training loop — forward, loss, backward, step, validate, accept or revert.

Each step runs a minibatch forward, turns its failures into textual gradients, proposes rewrites
(screening several on the minibatch when asked), and measures the proposal on the validation
set. It is kept only if the validation score rises; otherwise every changed param is put back.
After every step an atomic checkpoint is written, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ann.build import graph_from_spec
from ann.bundle import spec_from_graph
from ann.datasets.example import Example
from ann.datasets.fingerprint import dataset_hash
from ann.embed import Embedder, LocalEmbedder
from ann.errors import BudgetExceeded, GraphError
from ann.evaluate import Metric, aevaluate
from ann.graph import Graph
from ann.lm import ModelClient
from ann.optimizers.budget import Budget
from ann.optimizers.checkpoint import load_checkpoint, save_checkpoint
from ann.optimizers.demos import DemoPool
from ann.optimizers.describe import describe_layer
from ann.optimizers.draft import refine_tool
from ann.optimizers.history import StepRecord
from ann.optimizers.loss import TextLoss
from ann.optimizers.structure import apply_edit, calls_per_example, describe_edit, propose_edit
from ann.optimizers.tgd import Change, Proposal, TextualGradientDescent
from ann.params import HistoryEntry
from ann.spec import GraphSpec
from ann.tools.exploration import DraftRun
from ann.trace import Trace, Usage

Event = Callable[[str, dict[str, Any]], None]
MAX_SCORE = 1.0  # every metric scores in [0, 1]: no step can beat a perfect validation score


@dataclass
class DraftSettings:
    """How ``ANNOptimizer(draft=...)`` explores the graph's tools before training (see ``refine_tool``)."""

    episodes: int = 5
    phi: float = 0.9
    tau: float = 0.75
    embedder: Embedder = field(default_factory=LocalEmbedder)

    def knobs(self) -> dict[str, Any]:
        """The settings ``refine_tool`` takes (and a log records): all but the embedder."""
        return {"episodes": self.episodes, "phi": self.phi, "tau": self.tau}


@dataclass
class TrainingRun:
    """What a compile did: scores before and after, every step, why it stopped, what it spent."""

    baseline_score: float
    best_score: float
    history: list[StepRecord] = field(default_factory=list)
    stopped: str = ""
    usage: Usage = field(default_factory=Usage)
    elapsed_s: float = 0.0
    data: dict[str, str] = field(default_factory=dict)
    draft: list[DraftRun] = field(default_factory=list)


def _batches(trainset: Sequence[Example], batch_size: int, seed: int, epoch: int) -> list[list[Example]]:
    order = list(trainset)
    random.Random(f"{seed}:{epoch}").shuffle(order)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


class ANNOptimizer:
    """Trains a graph's prompts by textual backpropagation with validation-gated acceptance.

    Args:
        lm: The optimizer's model (critic, debugger, rewriter); defaults to the graph's model.
        epochs: Passes over the training set.
        batch_size: Examples per step.
        patience: Stop after this many steps in a row without a validation gain.
        momentum: Past updates per param shown to the rewriter.
        candidates: Proposals per step, screened on the minibatch before validation.
        max_words: Longest instructions a rewrite may produce.
        max_calls, max_cost, max_time: Budget caps over every call; the run stops cleanly.
        seed: Seeds the minibatch shuffling.
        checkpoint: Where to write the checkpoint after every step (None: no checkpoints).
        demos: After each step, also try up to this many worked examples per agent, taken from
            the agent's own calls in solved training runs (0: never).
        structure: After each step with failures, also try one structural edit (swap a team
            type, add or remove an agent) proposed from the critiques.
        max_agents: Most agents a structural edit may leave in a layer; an edit may also not
            more than double the graph's model calls per example.
        draft: Before the first step, run DRAFT on the graph's tools (the optimizer's model
            explores each tool for real and rewrites its doc); the new docs are kept only if
            validation rises. The exploration logs are in ``draft_runs``.
        on_event: ``fn(kind, info)`` for progress displays (kinds: baseline, phase, step, stop).

    Example:
        >>> trained = ANNOptimizer(epochs=2, batch_size=4).compile(
        ...     graph, trainset=train, valset=val, metric=make_metric("exact_match"))
    """

    def __init__(
        self,
        *,
        lm: ModelClient | None = None,
        epochs: int = 2,
        batch_size: int = 4,
        patience: int = 3,
        momentum: int = 2,
        candidates: int = 1,
        max_words: int = 120,
        max_calls: int | None = None,
        max_cost: float | None = None,
        max_time: float | None = None,
        seed: int = 0,
        checkpoint: str | Path | None = None,
        demos: int = 0,
        structure: bool = False,
        max_agents: int = 4,
        draft: DraftSettings | None = None,
        on_event: Event | None = None,
    ) -> None:
        for name, value in (("epochs", epochs), ("batch_size", batch_size), ("patience", patience)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.lm = lm
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.momentum = momentum
        self.candidates = candidates
        self.max_words = max_words
        self.caps = {"max_calls": max_calls, "max_cost": max_cost, "max_time": max_time}
        Budget(**self.caps)  # validates the caps now, not mid-run
        self.seed = seed
        if demos < 0:
            raise ValueError(f"demos must be >= 0, got {demos}")
        self.demos = demos
        self.pool = DemoPool()
        self.structure = structure
        self.max_agents = max_agents
        self.draft = draft
        self.draft_runs: list[DraftRun] = []
        self.critiques: list[str] = []
        self.trace = Trace(example_id="structure")
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.on_event = on_event or (lambda kind, info: None)
        self.last_run: TrainingRun | None = None

    def compile(
        self,
        graph: Graph,
        *,
        trainset: Sequence[Example],
        valset: Sequence[Example],
        metric: Metric,
        resume: bool = False,
    ) -> Graph:
        """Train ``graph`` in place and return it with its best params loaded; see ``last_run``."""
        return asyncio.run(self.acompile(graph, trainset=trainset, valset=valset, metric=metric, resume=resume))

    async def acompile(
        self,
        graph: Graph,
        *,
        trainset: Sequence[Example],
        valset: Sequence[Example],
        metric: Metric,
        resume: bool = False,
    ) -> Graph:
        """Async ``compile``."""
        if not trainset or not valset:
            raise ValueError("compile needs a non-empty trainset and valset")
        forward_lm = graph._client(None)
        opt_lm = self.lm or forward_lm
        data = {"train": dataset_hash(trainset), "val": dataset_hash(valset)}
        fingerprint = {**data, "seed": self.seed, "batch_size": self.batch_size}
        loss = TextLoss(metric, graph=graph, lm=opt_lm)
        opt = self._optimizer(graph, opt_lm)
        call_cap = max(2 * calls_per_example(graph), calls_per_example(graph) + 3)
        avoid = [str(value) for example in trainset for value in example.inputs.values()]
        params = dict(graph.named_parameters())

        if resume:
            if self.checkpoint is None:
                raise ValueError("resume needs a checkpoint path")
            saved = load_checkpoint(self.checkpoint, fingerprint)
            if saved.get("structure") and saved["structure"] != _structure(graph):
                graph.replace_structure(_rebuild(graph, saved["structure"]))
                opt = self._optimizer(graph, opt_lm)
                params = dict(graph.named_parameters())
                call_cap = max(call_cap, calls_per_example(graph))
            graph.load_state_dict(saved["best_state"])
            opt.load_state_dict(saved["optimizer"])
            self.pool.load_state_dict(saved.get("demo_pool", {}))
            self.draft_runs = [DraftRun.model_validate(r) for r in saved.get("draft", [])]
            for name, entries in saved["param_history"].items():
                params[name].history = [HistoryEntry(**entry) for entry in entries]
            run = TrainingRun(saved["baseline_score"], saved["best_score"], data=data,
                              history=[StepRecord.from_dict(r) for r in saved["history"]])  # fmt: skip
            position, bad_steps = saved["position"], saved["bad_steps"]
            budget = Budget(**self.caps, clients=[forward_lm, opt_lm], spent_before=Usage(**saved["spent"]),
                            seconds_before=saved["seconds"])  # fmt: skip
            self.on_event("baseline", {"score": run.baseline_score, "resumed_at": len(run.history)})
        else:
            self.pool = DemoPool()
            budget = Budget(**self.caps, clients=[forward_lm, opt_lm])
            self.on_event("phase", {"phase": "baseline validation"})
            forward_lm.guard = budget.check
            try:
                baseline = (await aevaluate(graph, valset, metric)).score
            except BudgetExceeded as exc:
                raise BudgetExceeded(f"{exc} before the baseline validation finished; raise the budget") from exc
            finally:
                forward_lm.guard = None
            for param in params.values():
                param.history[-1].score = baseline
            run = TrainingRun(baseline, baseline, data=data)
            position, bad_steps = {"epoch": 0, "batch": 0}, 0
            self.on_event("baseline", {"score": baseline})

        best: dict[str, Any] = {"state": graph.state_dict(), "structure": _structure(graph)}

        def save(epoch: int, batch: int) -> None:
            if self.checkpoint is None:
                return
            spent = budget.usage()
            save_checkpoint(self.checkpoint, {
                "fingerprint": fingerprint, "position": {"epoch": epoch, "batch": batch}, "bad_steps": bad_steps,
                "baseline_score": run.baseline_score, "best_score": run.best_score, "best_state": best["state"],
                "structure": best["structure"],
                "optimizer": opt.state_dict(), "history": [r.to_dict() for r in run.history],
                "param_history": {n: [e.__dict__ for e in p.history] for n, p in params.items()},
                "spent": spent.__dict__, "seconds": budget.elapsed(), "demo_pool": self.pool.state_dict(),
                "draft": [r.model_dump() for r in self.draft_runs],
            })  # fmt: skip

        def settle(record: StepRecord, epoch: int, index: int) -> None:
            """Book a finished step at once, so the next proposal of this batch must beat it."""
            nonlocal bad_steps
            record.epoch, record.batch = epoch, index
            if record.accepted:
                run.best_score = record.val_score or run.best_score
                best["state"] = graph.state_dict()
                best["structure"] = _structure(graph)
                bad_steps = 0
                for change in record.changes:
                    if change["param"] in params:
                        params[change["param"]].history.append(HistoryEntry(change["new"], run.best_score, record.step))
            elif record.val_score is not None or record.note.startswith("no valid"):
                bad_steps += 1
            record.best_score = run.best_score
            run.history.append(record)

        def announce(records: list[StepRecord], steps_per_batch: int) -> None:
            total = self.epochs * -(-len(trainset) // self.batch_size) * steps_per_batch
            for record in records:
                self.on_event("step", {"record": record, "usage": budget.usage(), "elapsed": budget.elapsed(),
                                       "total_steps": total})  # fmt: skip

        if not resume:
            save(0, 0)
        for client in (forward_lm, opt_lm):
            client.guard = budget.check
        try:
            if self.draft is not None and not resume and graph.tools():
                settle(await self._draft_step(graph, valset, metric, opt, opt_lm, run, budget), 0, 0)
                save(0, 0)
                announce(run.history[-1:], steps_per_batch=1)
            for epoch in range(position["epoch"], self.epochs):
                batches = _batches(trainset, self.batch_size, self.seed, epoch)
                first = position["batch"] if epoch == position["epoch"] else 0
                for index in range(first, len(batches)):
                    if run.best_score >= MAX_SCORE:
                        raise _EarlyStop(f"validation reached {MAX_SCORE:.3f}, the most a metric gives")
                    budget.check()
                    done = len(run.history)

                    text_step = await self._step(graph, batches[index], valset, metric, loss, opt, run, budget, avoid)
                    settle(text_step, epoch, index)
                    if self.demos:
                        settle(await self._demo_step(graph, valset, metric, opt, run, budget), epoch, index)
                    if self.structure:
                        record, edited = await self._structure_step(
                            graph, valset, metric, opt_lm, run, budget, call_cap
                        )
                        if edited is not None:
                            graph.replace_structure(edited)
                            opt = self._optimizer(graph, opt_lm, old=opt)
                            params = dict(graph.named_parameters())
                        settle(record, epoch, index)
                    save(epoch, index + 1)
                    records = run.history[done:]
                    announce(records, steps_per_batch=len(records))
                    if bad_steps >= self.patience:
                        raise _EarlyStop(f"no validation gain in {bad_steps} steps (patience {self.patience})")

                position = {"epoch": epoch + 1, "batch": 0}
            run.stopped = f"finished {self.epochs} epoch{'s' if self.epochs > 1 else ''}"
        except (BudgetExceeded, _EarlyStop) as stop:
            run.stopped = str(stop)
            opt.zero_grad()
            loss.items = []
        finally:
            for client in (forward_lm, opt_lm):
                client.guard = None
            # A step cut short may have applied a proposal; the best accepted state is the result.
            graph.load_state_dict(best["state"])
        run.usage, run.elapsed_s, run.draft = budget.usage(), budget.elapsed(), self.draft_runs
        self.last_run = run
        self.on_event("stop", {"reason": run.stopped, "run": run})
        return graph

    def _optimizer(
        self, graph: Graph, lm: ModelClient, old: TextualGradientDescent | None = None
    ) -> TextualGradientDescent:
        """A fresh TGD over the graph's trainable params, keeping ``old``'s memory of params that remain."""
        opt = TextualGradientDescent(
            [(n, p) for n, p in graph.named_parameters() if p.trainable] or graph.named_parameters(),
            lm=lm, momentum=self.momentum, candidates=self.candidates, max_words=self.max_words,
            task=graph.task.value,
        )  # fmt: skip
        if old is not None:
            names = {name for name, _, _ in opt.named_params()}
            opt.state = {name: state for name, state in old.state.items() if name in names}
        return opt

    async def _structure_step(
        self, graph: Graph, valset: Sequence[Example], metric: Metric, lm: ModelClient, run: TrainingRun,
        budget: Budget, call_cap: int,
    ) -> tuple[StepRecord, Graph | None]:  # fmt: skip
        """Propose one structural edit from the last critiques; the edited graph if validation rose."""
        step = len(run.history) + 1
        record = StepRecord(step, 0, 0, None, None, run.best_score, False, note="structure")
        if not self.critiques:
            record.note = "structure: minibatch solved, nothing to fix"
            return record, None
        budget.check()
        self.on_event("phase", {"phase": f"step {step}: structural edit"})
        edit = await propose_edit(graph, self.critiques, lm, self.trace, max_agents=self.max_agents, sample=step)
        if edit is None:
            record.note = "structure: no usable edit proposed"
            return record, None
        try:
            candidate = apply_edit(graph, edit, max_agents=self.max_agents, max_calls=call_cap)
        except GraphError as exc:
            record.note = f"structure: rejected edit ({exc})"
            record.rejected = [{"param": "structure", "reason": str(exc)}]
            return record, None
        budget.check()
        val = (await aevaluate(candidate, valset, metric)).score
        record.val_score, record.accepted = val, val > run.best_score
        record.note = f"structure: {describe_edit(edit)}"
        before = json.dumps([describe_layer(graph.layers[n]) for n in graph.order])
        after = json.dumps([describe_layer(candidate.layers[n]) for n in candidate.order])
        record.changes = [{"param": "structure", "old": before, "new": after, "gradient": edit.reason}]
        return record, candidate if record.accepted else None

    async def _step(
        self,
        graph: Graph,
        batch: list[Example],
        valset: Sequence[Example],
        metric: Metric,
        loss: TextLoss,
        opt: TextualGradientDescent,
        run: TrainingRun,
        budget: Budget,
        avoid: list[str],
    ) -> StepRecord:
        step = len(run.history) + 1
        self.on_event("phase", {"phase": f"step {step}: forward + loss"})
        results = await graph.abatch(batch)
        await asyncio.gather(*(loss.acall(example, result) for example, result in zip(batch, results, strict=True)))
        train_score = loss.score
        if self.demos:
            self.pool.add(item for item in loss.items if item.critique is None and item.result.error is None)
        self.critiques = [item.critique for item in loss.items if item.critique]
        self.on_event("phase", {"phase": f"step {step}: backward"})
        await loss.abackward()
        record = StepRecord(step, 0, 0, train_score, None, run.best_score, False)
        if not any(p.grads for _, p, _ in opt.named_params()):
            record.note = "minibatch solved: no gradient"
            return record
        budget.check()
        self.on_event("phase", {"phase": f"step {step}: rewrite"})
        proposals = await opt.propose(avoid=avoid)
        record.rejected = [r for p in proposals for r in p.rejected]
        proposals = [p for p in proposals if p.changes]
        if not proposals:
            record.note = "no valid rewrite (all rejected or unparseable)"
            opt.zero_grad()
            return record
        chosen = proposals[0]
        if len(proposals) > 1:
            self.on_event("phase", {"phase": f"step {step}: screening {len(proposals)} candidates"})
            chosen, record.screened = await self._screen(graph, batch, metric, opt, proposals)
        budget.check()
        self.on_event("phase", {"phase": f"step {step}: validation"})
        await self._validate(graph, valset, metric, opt, chosen, run, record)
        opt.record(chosen, before=run.best_score, after=record.val_score or 0.0, accepted=record.accepted)
        opt.zero_grad()
        return record

    async def _demo_step(
        self,
        graph: Graph,
        valset: Sequence[Example],
        metric: Metric,
        opt: TextualGradientDescent,
        run: TrainingRun,
        budget: Budget,
    ) -> StepRecord:
        """Try worked examples from solved training runs as demos; kept only if validation rises."""
        step = len(run.history) + 1
        record = StepRecord(step, 0, 0, None, None, run.best_score, False, note="demos")
        params = dict(graph.named_parameters())
        proposal = self.pool.propose(params, k=self.demos, seed=f"{self.seed}:{step}")
        if not proposal.changes:
            record.note = "demos: no new worked examples yet"
            return record
        budget.check()
        self.on_event("phase", {"phase": f"step {step}: validating {len(proposal.changes)} demo sets"})
        await self._validate(graph, valset, metric, opt, proposal, run, record)
        return record

    async def _draft_step(
        self, graph: Graph, valset: Sequence[Example], metric: Metric, opt: TextualGradientDescent, lm: ModelClient,
        run: TrainingRun, budget: Budget,
    ) -> StepRecord:  # fmt: skip
        """Refine every tool's doc by DRAFT, then keep the new docs only if validation rises."""
        assert self.draft is not None
        step = len(run.history) + 1
        record = StepRecord(step, 0, 0, None, None, run.best_score, False, note="draft: tool docs")
        names = {id(param): name for name, param in graph.named_parameters()}
        tools = [tool for tool in graph.tools() if tool.doc.trainable]
        changes = []
        for tool in tools:
            budget.check()
            self.on_event("phase", {"phase": f"step {step}: DRAFT exploring {tool.name}"})
            before = tool.doc.value
            log = await refine_tool(tool, lm, self.draft.embedder, **self.draft.knobs(), trace=self.trace)
            self.draft_runs.append(log)
            if tool.doc.value != before:
                changes.append(Change(names[id(tool.doc)], before, tool.doc.value, log.stopped))
            tool.doc.value = before  # applied below, with the others, so validation judges them together
        if not changes:
            record.note = "draft: no tool doc changed"
            return record
        budget.check()
        self.on_event("phase", {"phase": f"step {step}: validating {len(changes)} refined tool docs"})
        await self._validate(graph, valset, metric, opt, Proposal(changes), run, record)
        return record

    async def _validate(
        self, graph: Graph, valset: Sequence[Example], metric: Metric, opt: TextualGradientDescent,
        proposal: Proposal, run: TrainingRun, record: StepRecord,
    ) -> None:  # fmt: skip
        """Apply a proposal, score it on validation, and keep it only if it beats the best so far."""
        opt.apply(proposal)
        record.val_score = (await aevaluate(graph, valset, metric)).score
        record.accepted = record.val_score > run.best_score
        record.changes = _changes(proposal)
        if not record.accepted:
            opt.revert(proposal)

    async def _screen(
        self, graph: Graph, batch: list[Example], metric: Metric, opt: TextualGradientDescent, proposals: list[Proposal]
    ) -> tuple[Proposal, list[float]]:
        """Score each proposal on the minibatch (cheaper than validation); the best goes on."""
        scores = []
        for proposal in proposals:
            opt.apply(proposal)
            scores.append((await aevaluate(graph, batch, metric)).score)
            opt.revert(proposal)
        return proposals[scores.index(max(scores))], scores


def _structure(graph: Graph) -> list[dict[str, Any]]:
    """The graph's layers as JSON-ready spec dicts (what a checkpoint needs to rebuild its shape)."""
    spec = spec_from_graph(graph)
    return [layer.model_dump(mode="json") for layer in (spec.graph.layers if spec.graph else [])]


def _rebuild(graph: Graph, layers: list[dict[str, Any]]) -> Graph:
    spec = spec_from_graph(graph)
    return graph_from_spec(spec.model_copy(update={"graph": GraphSpec.model_validate({"layers": layers})}), lm=graph.lm)


def _changes(proposal: Proposal) -> list[dict[str, str]]:
    return [{"param": c.name, "old": c.old, "new": c.new, "gradient": c.feedback} for c in proposal.changes]


class _EarlyStop(Exception):
    """Patience ran out (internal control flow, never escapes compile)."""
