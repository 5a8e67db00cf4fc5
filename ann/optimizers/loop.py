"""ANNOptimizer.compile: the training loop's settings and entry point; a Session runs it.

Proposers (text rewrites, demos, structural edits, DRAFT tool docs) offer candidates; the gate
keeps only a significant paired gain on validation (see ``session.py``). After every step an
atomic checkpoint is written, so an interrupted run resumes where it stopped — to the identical
bundle when the call cache is on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from ann.datasets.example import Example
from ann.embed import Embedder, installed_local_embedder
from ann.evaluate import Metric
from ann.graph import Graph
from ann.lm import ModelClient
from ann.optimizers.budget import Budget
from ann.optimizers.demos import DemoSource
from ann.optimizers.gate import Gate, sign_test_p
from ann.optimizers.history import TrainingRun
from ann.optimizers.proposers.draft import DraftSettings
from ann.optimizers.session import Session
from ann.optimizers.tgd import TextualGradientDescent
from ann.tools.exploration import DraftRun

Event = Callable[[str, dict[str, Any]], None]


def least_winnable(valset_size: int, alpha: float) -> bool:
    """Whether a candidate that wins on every validation example would pass the gate."""
    return sign_test_p(valset_size, 0) <= alpha


class ANNOptimizer:
    """Trains a graph's prompts by textual backpropagation; a significance gate keeps the changes.

    Args:
        lm: The optimizer's model (critic, debugger, rewriter); defaults to the graph's model.
        epochs: Passes over the training set.
        batch_size: Examples per step; the next ``batch_size`` training examples screen its rewrites.
        patience: Stop after this many refused or empty proposals in a row.
        momentum: Past updates per param shown to the rewriter.
        candidates: Rewrites per step, screened on other training examples before validation.
        max_words: Longest instructions a rewrite may produce.
        lr: The textual learning rate: the largest fraction of a text's words one rewrite may change
            (1.0: any rewrite). A small change of a short text is always allowed (see TGD).
        alpha: The gate's significance level (one-sided paired sign test on validation).
        max_calls, max_cost, max_time: Budget caps over every call (cache hits count as calls); the
            run stops cleanly.
        seed: Seeds minibatch order and demo sampling.
        checkpoint: Where to write the checkpoint after every step (None: no checkpoints).
        demos: After each step, also try up to this many worked examples per agent (0: never).
        demo_source: ``bootstrap`` (the answers layers chose in solved runs) or ``labeled`` (training
            examples with their expected values, for layers that map task inputs to task outputs).
        structure: After each step with failures, also try one structural edit.
        max_agents: Most agents a structural edit may leave in a layer; an edit may also not
            more than double the graph's model calls per example.
        draft: Before the first step, run DRAFT on the graph's tools; the new docs are a candidate.
        embedder: Embeddings for the paraphrase guard ("auto": the local MiniLM when installed).
        on_event: ``fn(kind, info)`` for progress displays (kinds: warning, baseline, phase, step, stop).

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
        lr: float = 1.0,
        alpha: float = 0.05,
        max_calls: int | None = None,
        max_cost: float | None = None,
        max_time: float | None = None,
        seed: int = 0,
        checkpoint: str | Path | None = None,
        demos: int = 0,
        demo_source: DemoSource = "bootstrap",
        structure: bool = False,
        max_agents: int = 4,
        draft: DraftSettings | None = None,
        embedder: Embedder | None | Literal["auto"] = "auto",
        on_event: Event | None = None,
    ) -> None:
        for name, value in (("epochs", epochs), ("batch_size", batch_size), ("patience", patience)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if demos < 0:
            raise ValueError(f"demos must be >= 0, got {demos}")
        if demo_source not in ("bootstrap", "labeled"):
            raise ValueError(f"demo_source must be 'bootstrap' or 'labeled', got {demo_source!r}")
        self.gate = Gate(alpha)
        self.lm = lm
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.tgd_options = {"momentum": momentum, "candidates": candidates, "max_words": max_words, "lr": lr}
        self.caps = {"max_calls": max_calls, "max_cost": max_cost, "max_time": max_time}
        Budget(**self.caps)  # validates the caps now, not mid-run
        self.seed = seed
        self.demos = demos
        self.demo_source = demo_source
        self.structure = structure
        self.max_agents = max_agents
        self.draft = draft
        self.embedder = installed_local_embedder() if embedder == "auto" else embedder
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.on_event = on_event or (lambda kind, info: None)
        self.last_run: TrainingRun | None = None
        self.draft_runs: list[DraftRun] = []  # the last run's DRAFT exploration logs

    def compile(
        self,
        graph: Graph,
        *,
        trainset: Sequence[Example],
        valset: Sequence[Example],
        metric: Metric,
        holdout: Sequence[Example] | None = None,
        resume: bool = False,
    ) -> Graph:
        """Train ``graph`` in place and return it with the picked params loaded; see ``last_run``.

        Args:
            holdout: A second held-out split: at the end the trained graph is kept only if it
                scores at least as well there as the untrained one.
        """
        return asyncio.run(
            self.acompile(graph, trainset=trainset, valset=valset, metric=metric, holdout=holdout, resume=resume)
        )

    async def acompile(
        self,
        graph: Graph,
        *,
        trainset: Sequence[Example],
        valset: Sequence[Example],
        metric: Metric,
        holdout: Sequence[Example] | None = None,
        resume: bool = False,
    ) -> Graph:
        """Async ``compile``."""
        if not trainset or not valset:
            raise ValueError("compile needs a non-empty trainset and valset")
        if not least_winnable(len(valset), self.gate.alpha):
            self.on_event("warning", {"text": (
                f"{len(valset)} validation examples can never show a significant gain at alpha {self.gate.alpha}: "
                "no change will be kept; use a larger validation set or a larger --alpha")})  # fmt: skip
        return await Session(self, graph, list(trainset), list(valset), metric, list(holdout or [])).train(resume)

    def _optimizer(
        self, graph: Graph, lm: ModelClient, old: TextualGradientDescent | None = None
    ) -> TextualGradientDescent:
        """A fresh TGD over the graph's trainable params, keeping ``old``'s memory of params that remain."""
        opt = TextualGradientDescent(
            [(n, p) for n, p in graph.named_parameters() if p.trainable] or graph.named_parameters(),
            lm=lm, task=graph.task.value, **self.tgd_options,
        )  # fmt: skip
        if old is not None:
            names = {name for name, _, _ in opt.named_params()}
            opt.state = {name: state for name, state in old.state.items() if name in names}
        return opt
