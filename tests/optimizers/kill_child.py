"""A compile that SIGKILLs itself at a chosen point, or resumes: the child process of test_kill_resume.py.

``run(run_dir, kind, kill, resume)`` trains one of three kinds of run in ``run_dir``:

- ``steps``: the three-layer graph through ``ANNOptimizer`` (text steps and demos);
- ``draft``: a tool graph trained with DRAFT first;
- ``cli``: `ann compile` on the three-layer spec with demos, structural edits and a holdout
  split, which also writes the bundle, history.jsonl and report of ``run_dir/out``;

and ``kill`` names the point where the process SIGKILLs itself:

- ``""``: none (an uninterrupted run);
- ``call:N``: the N-th real model call;
- ``call:N:PHASE``: the N-th real model call made while the run's phase names PHASE;
- ``write:FILE:N:torn`` / ``write:FILE:N:whole``: the N-th write of FILE, after its temp file is
  written and before the rename, with the temp file cut to half its length (a kill mid-write) or whole.

The call cache and the run directory are all that survive, as after a crash or an OOM kill. The
test runs this through a fork server that has already imported ann, so a child costs ~1 s, not ~4;
``python kill_child.py RUN_DIR KIND KILL fresh|resume`` runs one by hand.
"""

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ann import Example  # noqa: E402
from ann.bundle import Scores, make_bundle  # noqa: E402
from ann.cache import CallCache  # noqa: E402
from ann.cli import compile as compile_command  # noqa: E402
from ann.cli import main as ann_main  # noqa: E402
from ann.datasets import make_metric  # noqa: E402
from ann.lm import ModelClient, ModelConfig  # noqa: E402
from ann.optimizers import ANNOptimizer, DraftSettings  # noqa: E402
from ann.testing.scripted_lm import ScriptedLM  # noqa: E402
from tests.optimizers.scripts import examples, optimizer_script, three_layer_graph  # noqa: E402
from tests.optimizers.test_resume import rewrite  # noqa: E402
from tests.tools.test_tool_training import data, letters, tool_graph  # noqa: E402
from tests.tools.test_tool_training import script as tool_script  # noqa: E402

SPEC = """\
name: kill
description: Answer 'right'.
inputs: [question]
outputs: [answer]
metric: exact_match
graph:
  layers:
    - {name: plan, inputs: [question], outputs: [plan], agents: [{name: planner, role: a planner, instructions: Plan.}]}
    - {name: solve, inputs: [plan], outputs: [draft], agents: [{name: solver, role: a solver, instructions: Solve.}]}
    - {name: final, inputs: [draft], outputs: [answer], agents: [{name: writer, role: a writer, instructions: Write.}]}
"""
# The architect's one edit: a reviser after the last layer, whose instructions make the answer right.
REVISER = {"op": "insert_layer", "layer": "final", "name": "check", "role": "a reviser",
           "instructions": "Answer well. GOOD.", "reason": "a second look fixes the answer"}  # fmt: skip


class Killer:
    """Counts model calls and file writes, and SIGKILLs this process at the chosen one."""

    def __init__(self, kill: str) -> None:
        self.how, _, spec = kill.partition(":")
        self.phase, self.calls, self.writes, self.phases = "", 0, 0, []
        if self.how == "call":
            at, _, self.in_phase = spec.partition(":")
            self.at = int(at)
        elif self.how == "write":
            self.file, at, self.mode = spec.split(":")
            self.at = int(at)
            real_replace = os.replace

            def replace(src, dst, *args, **kwargs):
                self.before_rename(Path(src), Path(dst))
                return real_replace(src, dst, *args, **kwargs)

            os.replace = replace  # this process only: it ends with the run

    def on_event(self, kind: str, info: dict) -> None:
        if kind == "phase":
            self.phase = info["phase"]
            self.phases.append(self.phase)

    def before_call(self) -> None:
        if self.how == "call" and self.in_phase in self.phase:
            self.calls += 1
            if self.calls == self.at:
                os.kill(os.getpid(), signal.SIGKILL)

    def before_rename(self, tmp: Path, path: Path) -> None:
        if self.how == "write" and path.name == self.file:
            self.writes += 1
            if self.writes == self.at:
                if self.mode == "torn":
                    os.truncate(tmp, tmp.stat().st_size // 2)
                os.kill(os.getpid(), signal.SIGKILL)


def scripted(kind: str, killer: Killer):
    """The run's model: the kind's script, with the killer looking at every real call first."""
    doc = "Converts a length to metres. UNIT-CODES: m, ft."
    base = tool_script(doc) if kind == "draft" else optimizer_script(rewrite)
    made = 0

    def reply(messages):
        nonlocal made
        made += 1
        killer.before_call()
        system = messages[0]["content"]
        if system.endswith("Reply with the answer draft."):  # the writer, once a reviser follows it
            return "a draft answer"
        if "improve the structure" in system:
            return json.dumps({"edit": REVISER})
        return base(messages)

    return ScriptedLM(reply), lambda: made


def run(run_dir: Path, kind: str, kill: str = "", resume: bool = False) -> None:
    """One run (see the module docstring); writes ``run_dir/result.json`` when it finishes."""
    log = os.open(run_dir / "child.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    killer = Killer(kill)
    lm, real_calls = scripted(kind, killer)
    result = compile_with_cli(run_dir, lm, killer, resume) if kind == "cli" else compile_in_process(
        run_dir, kind, lm, killer, resume)  # fmt: skip
    result.update(real_calls=real_calls(), phases=killer.phases)
    (run_dir / "result.json").write_text(json.dumps(result), encoding="utf-8")


def compile_in_process(run_dir: Path, kind: str, lm: ScriptedLM, killer: Killer, resume: bool) -> dict:
    client = ModelClient(ModelConfig("scripted/test", schema_style="llamacpp"), cache=CallCache(run_dir / "cache"),
                         lm=lm)  # fmt: skip
    if kind == "steps":
        graph = three_layer_graph(client)
        hard = Example({"question": "v-hard"}, {"answer": "unreachable"}, id="v-hard")
        train, val, metric = examples(6), [*examples(5, "v"), hard], make_metric("exact_match")
        options = {"epochs": 2, "batch_size": 2, "patience": 5, "demos": 1}
    else:
        graph = tool_graph(client)
        train, val, metric = data(2, "t"), data(5, "v"), make_metric("numeric_match")
        options = {"epochs": 1, "batch_size": 2, "patience": 1, "draft": DraftSettings(episodes=2, embedder=letters)}
    optimizer = ANNOptimizer(seed=3, checkpoint=run_dir / "checkpoint.json", embedder=None,
                             on_event=killer.on_event, **options)  # fmt: skip
    optimizer.compile(graph, trainset=train, valset=val, metric=metric, resume=resume)
    run = optimizer.last_run
    bundle = make_bundle(graph, scores=Scores(baseline=run.baseline_score, best=run.best_score), data=run.data,
                         draft=run.draft, training={"steps": len(run.history)})  # fmt: skip
    return {"bundle": bundle.model_dump(mode="json"), "history": [record.to_dict() for record in run.history]}


def compile_with_cli(run_dir: Path, lm: ScriptedLM, killer: Killer, resume: bool) -> dict:
    """`ann compile` itself, with the scripted model in place of a real one (and no call cache:
    the script answers alike every time, and every call then reaches it, even in the final validation)."""
    names = ("spec.yaml", "train.jsonl", "val.jsonl", "holdout.jsonl", "out")
    spec, train, val, holdout, out = (run_dir / name for name in names)
    if not spec.exists():
        hard = Example({"question": "v-hard"}, {"answer": "unreachable"}, id="v-hard")
        spec.write_text(SPEC, encoding="utf-8")
        for path, rows in ((train, examples(6)), (val, [*examples(5, "v"), hard]), (holdout, examples(3, "h"))):
            lines = [json.dumps({"id": e.id, **e.inputs, **e.expected}) + "\n" for e in rows]
            path.write_text("".join(lines), encoding="utf-8")

    def open_model(*args, **kwargs):
        return ModelClient(ModelConfig("scripted/test", schema_style="llamacpp"), lm=lm)

    def event(view, kind, info):
        killer.on_event(kind, info)
        show(view, kind, info)

    show = compile_command.LiveView.event
    compile_command.open_model, compile_command.LiveView.event = open_model, event  # this process only
    argv = ["compile", spec, "--train", train, "--val", val, "--holdout", holdout, "--out", out, "--epochs", 2,
            "--batch-size", 2, "--patience", 5, "--demos", 1, "--structure", "--seed", 3, "--json",
            *(["--resume"] if resume else [])]  # fmt: skip
    code = ann_main([str(arg) for arg in argv])
    if code:
        raise SystemExit(code)
    history = (out / "history.jsonl").read_text(encoding="utf-8").splitlines()
    return {"bundle": json.loads((out / "bundle.json").read_text(encoding="utf-8")),
            "history": [json.loads(line) for line in history]}  # fmt: skip


if __name__ == "__main__":
    run(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "resume")
