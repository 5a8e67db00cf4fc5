"""Several `ann search` workers share one study on a real PostgreSQL server (a throwaway cluster).

Never skipped: without PostgreSQL the fixture fails and says how to install it (`make test` does).
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from ann.testing import OpenAIServer
from ann.testing.postgres import postgres_bin, throwaway_cluster
from tests.search.conftest import answer_at_temperature_zero, model_flags

pytestmark = pytest.mark.slow  # about a minute and a half: worker processes, heartbeats, a grace period

GRID = [(t, s) for t in (0.0, 0.5, 1.0) for s in (1, 3)]


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    if postgres_bin() is None:
        pytest.fail("PostgreSQL is not installed; `make test` installs it (make postgres)")  # never a silent skip
    with throwaway_cluster() as url:
        yield url


@pytest.fixture
def grid_task(task) -> tuple[Path, Path]:
    spec, val = task
    spec.write_text(spec.read_text().replace("temperature: [0.0, 1.0]", "temperature: [0.0, 0.5, 1.0]"))
    return spec, val


def worker(spec: Path, val: Path, out: Path, api_base: str, storage: str, study: str, *flags: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "ann.cli", "search", str(spec), "--val", str(val), "--out", str(out),
            "--storage", storage, "--study", study, "--trials", str(len(GRID)), "--json", *model_flags(api_base),
            *flags]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(proc: subprocess.Popen, timeout: float = 240) -> None:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-2000:]


def combos(trials: list) -> list[tuple[float, int]]:
    return sorted((t.params["solve.temperature"], t.params["solve.samples"]) for t in trials)


def test_two_workers_split_one_study(grid_task, tmp_path, postgres) -> None:
    spec, val = grid_task
    with OpenAIServer(reply=answer_at_temperature_zero, latency_s=0.3) as server:
        workers = [worker(spec, val, tmp_path / f"w{i}", server.base_url, postgres, "split") for i in range(2)]
        for proc in workers:
            finished(proc)
    study = optuna.load_study(study_name="split", storage=postgres)
    trials = study.get_trials()
    assert all(t.state == TrialState.COMPLETE for t in trials), [t.state for t in trials]
    assert set(combos(trials)) == set(GRID)  # nothing lost
    assert len(trials) <= len(GRID) + 1  # two workers may both draw before either has chosen: one extra at most
    by_worker = {t.user_attrs["worker"] for t in trials}
    assert {w.rsplit(":", 1)[1] for w in by_worker} == {str(p.pid) for p in workers}  # both worked
    for i in range(2):  # each worker wrote the same best bundle
        assert (tmp_path / f"w{i}" / "bundle.json").is_file()


def test_a_worker_killed_mid_trial_leaves_the_study_consistent(grid_task, tmp_path, postgres) -> None:
    spec, val = grid_task
    with OpenAIServer(reply=answer_at_temperature_zero, latency_s=1.0) as server:
        doomed = worker(spec, val, tmp_path / "a", server.base_url, postgres, "kill", "--heartbeat", "1")
        storage = optuna.storages.RDBStorage(postgres)
        deadline = time.monotonic() + 120
        running: list = []
        while not running and time.monotonic() < deadline:
            time.sleep(0.3)
            try:
                study = optuna.load_study(study_name="kill", storage=storage)
            except KeyError:
                continue
            running = [t for t in study.get_trials() if t.state == TrialState.RUNNING and t.params]
        assert running, "the first worker never started a trial"
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
        killed = running[0].number
        time.sleep(3)  # past the grace period (2 heartbeats) of the dead worker's trial
        finished(worker(spec, val, tmp_path / "b", server.base_url, postgres, "kill", "--heartbeat", "1"))
    trials = optuna.load_study(study_name="kill", storage=postgres).get_trials()
    states = {t.number: t.state for t in trials}
    assert states[killed] == TrialState.FAIL
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert set(combos(complete)) == set(GRID)  # the killed trial's choices ran again: none lost
    assert len(complete) == len(GRID)  # and none twice
    retried = [t for t in complete if t.system_attrs.get("failed_trial") == killed]
    assert len(retried) == 1
    assert retried[0].params == next(t.params for t in trials if t.number == killed)
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]


def test_workers_starting_together_on_a_new_database_all_get_the_study(postgres) -> None:
    # the losers of the race to create Optuna's tables once failed with a duplicate key in pg_type
    import sqlalchemy

    from ann.search.study import open_study

    engine = sqlalchemy.create_engine(postgres, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text("CREATE DATABASE fresh"))
    engine.dispose()
    url = postgres.rsplit("/", 1)[0] + "/fresh"
    opened, errors = [], []

    def join() -> None:
        try:
            opened.append(open_study(url, "race", with_cost=False, heartbeat_s=5, seed=None, exhaustive=False))
        except Exception as exc:  # noqa: BLE001 — the test reports whatever went wrong
            errors.append(exc)

    threads = [threading.Thread(target=join) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len({study._study_id for study in opened}) == 1
