"""Clean shutdown: a run stopped by its budget ends without a warning or a task left behind.

A budget used to stop `ann compile --structure` while calls were in flight; the cancelled calls left
LiteLLM's coroutines unawaited and sibling tasks running, and Python printed
``RuntimeWarning: coroutine 'OpenAIChatCompletion.acompletion' was never awaited`` at exit. The
compiles run in a child process with RuntimeWarnings as errors; its stderr must stay empty.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ann.testing import OpenAIServer
from tests.cli.test_compile_cli import SPEC, TRAIN, VAL, make_reply, write_jsonl

ROOT = Path(__file__).resolve().parents[2]
# Budgets that stop the run in different phases (the minibatch's forward pass, its critiques, the
# screening of a rewrite), each of which left a call unawaited before the fix.
BUDGETS = [6, 10, 20]
EDIT = {"op": "add_agent", "layer": "route", "name": "second", "role": "a careful support agent",
        "instructions": "Name the team that handles the ticket."}  # fmt: skip
CHILD = """
import gc, json, sys
from ann.cli import main
argv, budgets = json.loads(sys.argv[1]), json.loads(sys.argv[2])
codes = [main([*argv, "--out", f"{sys.argv[3]}/run{n}", "--max-calls", str(n)]) for n in budgets]
gc.collect()
print(json.dumps(codes))
"""


def reply(request: dict[str, Any]) -> str:
    """The compile test's script, plus the architect's one structural edit."""
    try:
        return make_reply("Be brief and polite.")(request)
    except ValueError:
        return json.dumps(EDIT)


def test_compile_stopped_by_its_budget_leaves_no_warning_and_no_task(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    train, val = write_jsonl(tmp_path / "train.jsonl", TRAIN, "t"), write_jsonl(tmp_path / "val.jsonl", VAL, "v")
    env = {k: v for k, v in os.environ.items() if k not in ("ANN_MODEL", "ANN_API_BASE", "OPENAI_BASE_URL")}
    with OpenAIServer(reply=reply, latency_s=0.05) as server:
        argv = ["compile", str(spec), "--train", str(train), "--val", str(val), "--epochs", "2",
                "--batch-size", "2", "--structure", "--json", "--model", "openai/x", "--api-base",
                server.base_url, "--no-cache", "--retries", "0", "--timeout", "10"]  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-W", "error::RuntimeWarning", "-c", CHILD, json.dumps(argv), json.dumps(BUDGETS),
             str(tmp_path)],
            capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
        )  # fmt: skip
        requests = server.request_count
        kinds = {request["messages"][0]["content"][:40] for request in server.requests}
    assert done.stderr == ""
    assert done.returncode == 0
    assert json.loads(done.stdout.splitlines()[-1]) == [0] * len(BUDGETS)
    # Each run stopped at its budget exactly: no call was lost in flight, none ran past the cap.
    assert requests == sum(BUDGETS)
    assert len(kinds) >= 4  # the runs got as far as the critic, debugger and rewriter
    for n in BUDGETS:
        bundle = json.loads((tmp_path / f"run{n}" / "bundle.json").read_text(encoding="utf-8"))
        assert "call budget" in bundle["training"]["stopped"]
