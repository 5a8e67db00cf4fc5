"""A search trial end to end: draw choices, build the graph, optionally compile it briefly, score it.

The trial's bundle is stored with the trial (a user attribute), so whichever worker finishes a
shared study can write the best one, whatever machine ran it.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna

from ann.bundle import Scores, make_bundle
from ann.datasets.example import Example
from ann.errors import AnnError
from ann.evaluate import aevaluate
from ann.graph import Graph
from ann.lm import ModelClient
from ann.optimizers import ANNOptimizer
from ann.redact import redact
from ann.search.space import SearchSpec
from ann.search.trial import TrialSetup, apply, suggest
from ann.spec import Spec

BUNDLE_ATTR = "bundle"


@dataclass
class TrialKit:
    """What every trial needs from the command that runs the search."""

    spec: Spec
    space: SearchSpec
    val: Sequence[Example]
    train: Sequence[Example]
    build: Callable[[Spec], Graph]  # the spec's graph, tools checked as the command checks them
    open_model: Callable[[Spec, str | None], ModelClient]  # the trial's model (None: the run's)
    metric: Callable[[Spec, ModelClient], Any]
    compile_calls: int = 0  # 0: score the graph as drawn; else a compile capped at this many calls
    train_settings: dict[str, Any] = field(default_factory=dict)  # the spec's `train:` under the flags
    with_cost: bool = False
    seed: int = 0
    on_event: Callable[[str, dict[str, Any]], None] = lambda kind, info: None


class Objective:
    """Optuna's objective: returns the validation score (and calls per example with ``with_cost``)."""

    def __init__(self, kit: TrialKit) -> None:
        self.kit = kit

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        try:
            return self._run(trial)
        except AnnError as exc:
            trial.set_user_attr("error", redact(str(exc))[:500])  # the table and `--json` say why it failed
            raise

    def _run(self, trial: optuna.Trial) -> float | tuple[float, float]:
        kit = self.kit
        setup = apply(kit.spec, suggest(trial, kit.space))
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        kit.on_event("trial", {"number": trial.number, "params": dict(trial.params)})
        graph = kit.build(setup.spec)
        lm = kit.open_model(setup.spec, setup.model)
        graph.lm = lm
        metric = kit.metric(setup.spec, lm)
        baseline, training = None, {}
        if kit.compile_calls:
            baseline, training = self._compile(trial, setup, graph, lm, metric)
        kit.on_event("phase", {"number": trial.number, "phase": "validation"})
        report = asyncio.run(aevaluate(graph, kit.val, metric, lm=lm))
        calls = (report.usage.calls + report.usage.cache_hits) / max(report.n, 1)
        bundle = make_bundle(
            graph, spec=setup.spec, scores=Scores(baseline=baseline, best=report.score),
            training={**training, "search": {"trial": trial.number, "params": dict(trial.params)}},
        )  # fmt: skip
        trial.set_user_attr(BUNDLE_ATTR, bundle.model_dump(mode="json"))
        trial.set_user_attr("calls_per_example", round(calls, 3))
        trial.set_user_attr("cost_usd", round(report.usage.cost, 6))
        return (report.score, calls) if kit.with_cost else report.score

    def _compile(
        self, trial: optuna.Trial, setup: TrialSetup, graph: Graph, lm: ModelClient, metric: Any
    ) -> tuple[float, dict[str, Any]]:
        """A short compile; each step's validation best is an intermediate value the pruner may stop."""
        kit = self.kit
        prunable = not kit.with_cost  # Optuna prunes single-objective studies only

        def event(kind: str, info: dict[str, Any]) -> None:
            if kind == "phase":
                kit.on_event("phase", {"number": trial.number, "phase": info["phase"]})
            if not prunable or kind not in ("baseline", "step"):
                return
            step, score = (0, info["score"]) if kind == "baseline" else (info["record"].step, info["record"].best_score)
            trial.report(score, step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"validation {score:.3f} after step {step}")

        settings = {**kit.train_settings, **setup.train, "max_calls": kit.compile_calls}
        optimizer = ANNOptimizer(lm=lm, seed=kit.seed, on_event=event, **settings)
        asyncio.run(optimizer.acompile(graph, trainset=kit.train, valset=kit.val, metric=metric))
        run = optimizer.last_run
        assert run is not None
        accepted = sum(record.accepted for record in run.history)
        return run.baseline_score, {**settings, "steps": len(run.history), "accepted": accepted,
                                    "stopped": run.stopped}  # fmt: skip
