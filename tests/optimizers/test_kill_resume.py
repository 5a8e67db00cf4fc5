"""SIGKILL at any point — mid-step, mid-validation, during DRAFT — then --resume: the identical bundle.

Each run is a child process whose scripted model kills it with SIGKILL at its N-th real call; the
call cache (on disk) and the checkpoint are all that survive, as after a crash or an OOM kill.
"""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("kill_child.py")


def child(run_dir: Path, kind: str, kill_at: int = 0, resume: bool = False) -> subprocess.CompletedProcess:
    run_dir.mkdir(exist_ok=True)
    args = [sys.executable, str(CHILD), str(run_dir), kind, str(kill_at), "resume" if resume else "fresh"]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run of each kind, and how many real calls it made."""
    results = {}
    for kind in ("steps", "draft"):
        run_dir = tmp_path_factory.mktemp(f"reference-{kind}")
        done = child(run_dir, kind)
        assert done.returncode == 0, done.stderr
        results[kind] = json.loads((run_dir / "result.json").read_text())
    return results


# Points past the baseline validation (before its checkpoint there is nothing to resume): mid-step,
# mid-validation, mid-demos; during DRAFT's exploration and during the validation of its docs.
@pytest.mark.parametrize(("kind", "fraction"), [("steps", 0.3), ("steps", 0.7), ("draft", 0.5),
                                                ("draft", 0.9)])  # fmt: skip
def test_sigkill_then_resume_gives_the_identical_bundle(reference, tmp_path, kind, fraction):
    expected = reference[kind]
    kill_at = max(2, round(fraction * expected["real_calls"]))
    killed = child(tmp_path, kind, kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (tmp_path / "result.json").exists()
    resumed = child(tmp_path, kind, resume=True)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["bundle"] == expected["bundle"]
    assert result["history"] == expected["history"]
    assert any(record["accepted"] for record in result["history"])  # the runs do learn something
