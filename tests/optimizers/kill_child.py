"""A compile in a child process that SIGKILLs itself at its N-th real model call, or resumes.

Run by test_kill_resume.py: ``python kill_child.py RUN_DIR KIND KILL_AT RESUME`` where KIND is
``steps`` (the three-layer graph) or ``draft`` (a tool graph trained with DRAFT first).
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
from ann.datasets import make_metric  # noqa: E402
from ann.lm import ModelClient, ModelConfig  # noqa: E402
from ann.optimizers import ANNOptimizer, DraftSettings  # noqa: E402
from ann.testing.scripted_lm import ScriptedLM  # noqa: E402
from tests.optimizers.scripts import examples, optimizer_script, three_layer_graph  # noqa: E402
from tests.optimizers.test_resume import rewrite  # noqa: E402
from tests.tools.test_tool_training import data, letters, tool_graph  # noqa: E402
from tests.tools.test_tool_training import script as tool_script  # noqa: E402


def main(run_dir: Path, kind: str, kill_at: int, resume: bool) -> None:
    doc = "Converts a length to metres. UNIT-CODES: m, ft."
    base = optimizer_script(rewrite) if kind == "steps" else tool_script(doc)
    made = 0

    def reply(messages):
        nonlocal made
        made += 1
        if made == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return base(messages)

    client = ModelClient(ModelConfig("scripted/test", schema_style="llamacpp"), cache=CallCache(run_dir / "cache"),
                         lm=ScriptedLM(reply))  # fmt: skip
    if kind == "steps":
        graph = three_layer_graph(client)
        hard = Example({"question": "v-hard"}, {"answer": "unreachable"}, id="v-hard")
        train, val, metric = examples(6), [*examples(5, "v"), hard], make_metric("exact_match")
        options = {"epochs": 2, "batch_size": 2, "patience": 5, "demos": 1}
    else:
        graph = tool_graph(client)
        train, val, metric = data(2, "t"), data(5, "v"), make_metric("numeric_match")
        options = {"epochs": 1, "batch_size": 2, "patience": 1, "draft": DraftSettings(episodes=2, embedder=letters)}
    optimizer = ANNOptimizer(seed=3, checkpoint=run_dir / "checkpoint.json", embedder=None, **options)
    optimizer.compile(graph, trainset=train, valset=val, metric=metric, resume=resume)
    run = optimizer.last_run
    bundle = make_bundle(graph, scores=Scores(baseline=run.baseline_score, best=run.best_score), data=run.data,
                         draft=run.draft, training={"steps": len(run.history)})  # fmt: skip
    history = [record.to_dict() for record in run.history]
    (run_dir / "result.json").write_text(json.dumps({"bundle": bundle.model_dump(mode="json"), "history": history,
                                                     "real_calls": made}))  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "resume")
