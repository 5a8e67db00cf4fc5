"""Run a study's trials in this worker and write the best trial's bundle."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from ann.bundle import Bundle, save_bundle
from ann.errors import BudgetExceeded, ConfigError, ParseError
from ann.search.objective import BUNDLE_ATTR, Objective, TrialKit
from ann.search.study import best_trial, done, stop_at, trial_row, waiting
from ann.search.view import SearchView


def run_trials(study: optuna.Study, kit: TrialKit, *, trials: int, timeout: float | None, view: SearchView) -> None:
    """Run trials until the study holds ``trials`` finished ones (any worker's) or ``timeout`` passes.

    First, a trial whose worker died (no heartbeat for the grace period) is failed and its choices
    queued again; queued choices run before new ones are drawn, even past ``trials``, so none is
    lost. A trial whose choices make a bad graph, or whose replies cannot be parsed, fails alone; a
    model that cannot be reached, a budget or a Ctrl-C stops the worker (Optuna marks its trial failed).
    """

    def refresh(study: optuna.Study, _: FrozenTrial | None = None) -> None:
        view.rows = [trial_row(t) for t in study.get_trials(deepcopy=False)]
        view.current = ""

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    refresh(study)
    objective = Objective(kit)
    caught = (ConfigError, ParseError, BudgetExceeded)  # a compile cap too small for this trial fails it alone
    if done(study) < trials or waiting(study):
        study.optimize(objective, timeout=timeout, callbacks=[stop_at(trials), refresh], catch=caught)
    # A sampler that has seen every combination stops the study itself; queued retries still run.
    queued = len(waiting(study))
    if queued:
        study.optimize(objective, n_trials=queued, timeout=timeout, callbacks=[refresh], catch=caught)
    refresh(study)


def write_best(study: optuna.Study, path: Path) -> FrozenTrial | None:
    """Save the best trial's bundle with where it came from; None when no trial finished."""
    best = best_trial(study)
    if best is None:
        return None
    bundle = Bundle.model_validate(best.user_attrs[BUNDLE_ATTR])
    search: dict[str, Any] = dict(bundle.training.get("search", {}))
    search.update(study=study.study_name, values=list(best.values), finished_trials=done(study))
    bundle.training["search"] = search
    save_bundle(bundle, path)
    return best
