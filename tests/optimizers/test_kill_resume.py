"""SIGKILL at any point — mid-step, mid-validation, during DRAFT, mid-write — then resume: the identical bundle.

Each run is a child process (kill_child.py) that SIGKILLs itself at a chosen model call or file
write; the call cache and the run directory are all that survive, as after a crash or an OOM kill.
The children fork from a server that has imported ann once, so each costs about a second.
"""

import json
import multiprocessing
import shutil
import signal
from pathlib import Path

import pytest

from ann.cli import main
from tests.optimizers import kill_child


@pytest.fixture(scope="module")
def forks():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.optimizers.kill_child", "matplotlib.pyplot"])  # the report draws a curve
    return context


def child(forks, run_dir: Path, kind: str, kill: str = "", resume: bool = False) -> int:
    """Run one child to its end (or its kill) and return its exit code (-9 when it SIGKILLed itself)."""
    run_dir.mkdir(exist_ok=True)
    process = forks.Process(target=kill_child.run, args=(run_dir, kind, kill, resume))
    process.start()
    process.join(timeout=120)
    if process.is_alive():
        process.kill()
        process.join()
    return process.exitcode


def log(run_dir: Path) -> str:
    path = run_dir / "child.log"
    return path.read_text(encoding="utf-8", errors="replace")[-3000:] if path.exists() else ""


def out_dir(run_dir: Path, kind: str) -> Path:
    return run_dir / "out" if kind == "cli" else run_dir


def assert_no_torn_file(folder: Path) -> None:
    """Whatever a kill left under its own name is whole: only stray temp files may be cut short."""
    for path in folder.glob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))
    for path in folder.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            json.loads(line)


def kill_then_resume(forks, run_dir: Path, kind: str, kill: str) -> dict:
    """Kill a run at ``kill``, check what it left, and finish it the way a user would; its result."""
    killed = child(forks, run_dir, kind, kill)
    assert killed == -signal.SIGKILL, f"the run was not killed at {kill!r} (exit {killed}):\n{log(run_dir)}"
    assert not (run_dir / "result.json").exists()
    out = out_dir(run_dir, kind)
    if kill.startswith("write:"):  # killed mid-write: the temp file is there, the file itself is not cut
        assert list(out.glob(f".{kill.split(':')[1]}.*.tmp"))
    assert_no_torn_file(out)
    # Killed before its first checkpoint, a run is simply started again; after it, resumed.
    resumed = child(forks, run_dir, kind, resume=(out / "checkpoint.json").exists())
    assert resumed == 0, log(run_dir)
    if kind == "cli":
        assert not list(out.glob(".*.tmp")), "the rerun compile left the temp files of the killed one"
    return json.loads((run_dir / "result.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reference(forks, tmp_path_factory):
    """The uninterrupted run of each kind, and how many real calls it made."""
    results = {}
    for kind in ("steps", "draft", "cli"):
        run_dir = tmp_path_factory.mktemp(f"reference-{kind}")
        assert child(forks, run_dir, kind) == 0, log(run_dir)
        results[kind] = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
        results[kind]["run_dir"] = run_dir
    return results


# Points past the baseline validation: mid-step, mid-validation, mid-demos; during DRAFT's
# exploration and during the validation of its docs.
@pytest.mark.parametrize(("kind", "fraction"), [("steps", 0.3), ("steps", 0.7), ("draft", 0.5),
                                                ("draft", 0.9)])  # fmt: skip
def test_sigkill_then_resume_gives_the_identical_bundle(forks, reference, tmp_path, kind, fraction):
    expected = reference[kind]
    kill_at = max(2, round(fraction * expected["real_calls"]))
    result = kill_then_resume(forks, tmp_path, kind, f"call:{kill_at}")
    assert result["bundle"] == expected["bundle"]
    assert result["history"] == expected["history"]
    assert any(record["accepted"] for record in result["history"])  # the runs do learn something


# `ann compile` with demos, structural edits and a holdout split, killed in each phase and in the middle of
# writing each file it writes; "write:FILE:N:torn" cuts the N-th write's temp file in half.
CLI_POINTS = [
    "call:2:baseline validation",  # no checkpoint yet: the run starts again
    "write:checkpoint.json:1:torn",  # the first checkpoint, half written
    "call:1:rewrite",  # mid text step
    "call:3:validating (text)",  # between a proposal and the gate's decision
    "call:2:validating (demos)",  # the demo step
    "call:1:structural edit",  # the structure step: the architect's call
    "call:4:validating (structure)",  # the structure step: its validation
    "write:checkpoint.json:5:whole",  # a later checkpoint, written but not yet renamed
    "call:3:final validation",  # the final measurement
    "call:2:holdout",  # the holdout pick between the untrained and the trained graph
    "write:bundle.json:1:torn",
    "write:history.jsonl:1:whole",
    "write:report.md:1:torn",
]


@pytest.mark.parametrize("kill", CLI_POINTS)
def test_ann_compile_killed_anywhere_resumes_to_the_identical_bundle(forks, reference, tmp_path, kill):
    expected = reference["cli"]
    result = kill_then_resume(forks, tmp_path, "cli", kill)
    assert result["bundle"] == expected["bundle"]
    assert result["history"] == expected["history"]
    assert (tmp_path / "out" / "report.md").exists() and (tmp_path / "out" / "curve.png").exists()
    if "final validation" in kill:  # the resumed run measures again, rather than trusting the gate's score
        assert "final validation" in result["phases"]


def test_the_cli_run_covers_every_kind_of_step(reference):
    """The kill points above exist: the reference run keeps a structural edit, tries demos, stops
    on patience at its last step (so a resume after it must stop the same way, not go on) and
    makes the holdout pick (which a resume must make too, whether or not it kept a change itself)."""
    history, bundle = reference["cli"]["history"], reference["cli"]["bundle"]
    kept = [r["note"] for r in history if r["accepted"]]
    assert kept == ["structure: insert layer 'check' after 'final' (a reviser)"]
    assert any(r["note"] == "demos" for r in history)
    assert bundle["training"]["stopped"].startswith("no validation gain")
    assert bundle["training"]["holdout"]["picked"] == "trained"


# What an earlier crash may leave, were a write not atomic: reported in one line naming the file, never loaded.


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_resuming_from_a_truncated_checkpoint_is_one_line_and_exit_2(forks, reference, tmp_path):
    shutil.copytree(reference["cli"]["run_dir"], tmp_path, dirs_exist_ok=True)
    (tmp_path / "child.log").unlink()
    checkpoint, bundle = tmp_path / "out" / "checkpoint.json", tmp_path / "out" / "bundle.json"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    before = bundle.read_bytes()
    assert child(forks, tmp_path, "cli", resume=True) == 2
    line = one_line_error(log(tmp_path))
    assert f"{checkpoint}: unreadable or truncated checkpoint" in line
    assert bundle.read_bytes() == before


@pytest.mark.parametrize("keep", [0.0, 0.3, 0.999])
@pytest.mark.parametrize("command", [["show"], ["compile", "--train", "t.jsonl", "--val", "v.jsonl", "--out", "o"]])
def test_a_truncated_bundle_is_one_line_and_exit_2(reference, tmp_path, capsys, command, keep):
    bundle = tmp_path / "bundle.json"
    data = (reference["cli"]["run_dir"] / "out" / "bundle.json").read_bytes()
    bundle.write_bytes(data[: int(len(data) * keep)])
    assert main([command[0], str(bundle), *command[1:]]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith(f"error: {bundle}")
