"""The Optuna study behind `ann search`: storage, stopping at N trials across workers, the pick.

Several workers (processes, machines) may run the same study through one storage; each stops
when the study holds N finished trials. A worker killed mid-trial stops sending heartbeats; the
next worker to start a trial marks the dead trial failed and queues its choices again, so no
trial is lost (Optuna's heartbeat and ``RetryHeartbeatStaleTrialCallback``).
"""

from __future__ import annotations

import random
import time
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import optuna
from optuna import samplers
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from ann.errors import ConfigError
from ann.redact import redact

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_CREATE_ATTEMPTS = 5


def open_study(
    storage_url: str, name: str, *, with_cost: bool, heartbeat_s: int, seed: int | None, exhaustive: bool
) -> optuna.Study:
    """Create the study, or join it when it exists (resume, or another worker's).

    With ``exhaustive`` (a space with no more combinations than the trials asked for) every
    combination is tried once, in random order (Optuna's BruteForceSampler); otherwise TPE draws.

    Raises:
        ConfigError: The storage cannot be reached, or the study exists with other objectives.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the live table says what Optuna's log would
    directions = ["maximize", "minimize"] if with_cost else ["maximize"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats, BruteForceSampler
        try:
            storage = _storage(storage_url, heartbeat_s)
        except ModuleNotFoundError as exc:
            hint = " (pip install 'agentic-nn[postgres]')" if exc.name and exc.name.startswith("psycopg") else ""
            raise ConfigError(f"--storage: {redact(storage_url)} needs the {exc.name} driver{hint}") from exc
        except Exception as exc:  # noqa: BLE001 — SQLAlchemy and its drivers raise many kinds
            raise ConfigError(f"--storage: cannot open {redact(storage_url)}: {_first_line(exc)}") from exc
        try:
            study = optuna.create_study(
                storage=storage, study_name=name, directions=directions, load_if_exists=True,
                sampler=samplers.BruteForceSampler(seed=seed) if exhaustive else samplers.TPESampler(seed=seed),
                pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001
            where = f"study {name!r} in {redact(storage_url)}"
            raise ConfigError(f"--storage: cannot open {where}: {_first_line(exc)}") from exc
    if [d.name.lower() for d in study.directions] != directions:
        raise ConfigError(f"study {name!r} already exists with other objectives; choose another --study")
    return study


def _storage(url: str, heartbeat_s: int) -> RDBStorage:
    """Optuna's RDB storage; the first connection to a new database creates Optuna's tables.

    Workers started together on a new database race to create them, and the losers' CREATE
    fails (PostgreSQL: a duplicate key in ``pg_type``); once the tables exist a retry succeeds.
    """
    from sqlalchemy.exc import DBAPIError

    def connect() -> RDBStorage:
        return RDBStorage(
            url, heartbeat_interval=heartbeat_s, grace_period=2 * heartbeat_s,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=2),
        )  # fmt: skip

    for attempt in range(1, _CREATE_ATTEMPTS):
        try:
            return connect()
        except DBAPIError:
            time.sleep(0.2 * attempt + random.random() * 0.3)
    return connect()  # the last try raises what it meets


def stop_at(trials: int) -> Callable[[optuna.Study, FrozenTrial], None]:
    """A callback that stops this worker once the study holds ``trials`` finished trials and none
    waits to be retried (or ``trials`` failed ones: a space where nothing runs must end)."""

    def callback(study: optuna.Study, _: FrozenTrial) -> None:
        states = Counter(t.state for t in study.get_trials(deepcopy=False))  # one read of the storage
        finished = sum(states[state] for state in FINISHED)
        if (finished >= trials and not states[TrialState.WAITING]) or states[TrialState.FAIL] >= trials:
            study.stop()

    return callback


def done(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def waiting(study: optuna.Study) -> list[FrozenTrial]:
    """Choices queued to run again: a dead worker's trial, retried."""
    return study.get_trials(deepcopy=False, states=(TrialState.WAITING,))


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The trial to ship: the best validation score; among equal scores the fewest model calls per
    example (a tie on a small validation set is no reason to pay for a bigger team), then the first."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return None
    return min(complete, key=lambda t: (-t.values[0], t.user_attrs.get("calls_per_example", 0.0), t.number))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def trial_row(trial: FrozenTrial) -> dict[str, Any]:
    """One trial as the live table and `--json` show it."""
    return {
        "number": trial.number,
        "state": trial.state.name.lower(),
        "score": trial.values[0] if trial.values else None,
        "calls_per_example": trial.user_attrs.get("calls_per_example"),
        "params": dict(trial.params),
        "seconds": round(trial.duration.total_seconds(), 1) if trial.duration else None,
        "note": trial.user_attrs.get("error", "") if trial.state == TrialState.FAIL else "",
    }
