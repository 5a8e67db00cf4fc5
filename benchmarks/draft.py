"""DRAFT benchmark: tool-task accuracy with the tools' original docs vs DRAFT-refined docs.

One local model plays the tool-using agent and DRAFT's explorer, analyzer and rewriter;
examples/tools (seven tersely documented tools, one call per task) is scored on its test split.
Arms, in one run: the original docs; complete docs written by hand (examples/tools/
reference_docs.yaml: the ceiling for this agent model); DRAFT (phi 0.9, tau 0.75, 5 episodes);
and with --ablations DRAFT without the diversity check (phi 2: no probe is too similar) and
without termination (tau 2: every episode runs). Each arm starts from the original docs.

Run: .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/draft.py [--ablations]
(default model: Qwen2.5-Coder-0.5B-Instruct Q4 from the `bench` extra; `--gguf FILE` for another,
`--embedded` for SmolLM2-135M)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import yaml

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from ann import connect, load_spec  # noqa: E402
from ann.build import graph_from_spec  # noqa: E402
from ann.datasets import load_dataset, make_metric  # noqa: E402
from ann.embed import LocalEmbedder  # noqa: E402
from ann.evaluate import aevaluate  # noqa: E402
from ann.lm import ModelClient  # noqa: E402
from ann.optimizers.draft import refine_tool  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from models import qwen_coder_gguf  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tools"
REFERENCE = "reference docs (by hand)"
ARMS = {
    "original docs": None,
    REFERENCE: None,
    "DRAFT": {"phi": 0.9, "tau": 0.75},
    "DRAFT, no diversity (phi 2)": {"phi": 2.0, "tau": 0.75},
    "DRAFT, no termination (tau 2)": {"phi": 0.9, "tau": 2.0},
}


async def arm(name: str, settings: dict | None, lm: ModelClient, episodes: int, split: str) -> dict:
    """Refine every tool's doc (unless ``settings`` is None), then score the split."""
    spec = load_spec(EXAMPLE / "spec.yaml")
    graph = graph_from_spec(spec)
    graph.lm = lm
    data = load_dataset(EXAMPLE / f"{split}.jsonl", inputs=spec.inputs)
    started, calls = time.perf_counter(), lm.usage.calls
    logs = []
    if name == REFERENCE:
        docs = yaml.safe_load((EXAMPLE / "reference_docs.yaml").read_text(encoding="utf-8"))
        for tool in graph.tools():
            tool.doc.value = docs[tool.name]
    if settings is not None:
        embedder = LocalEmbedder()
        for tool in graph.tools():
            logs.append(await refine_tool(tool, lm, embedder, episodes=episodes, **settings))
    draft_calls, draft_s = lm.usage.calls - calls, time.perf_counter() - started
    calls = lm.usage.calls
    report = await aevaluate(graph, data, make_metric("numeric_match"))
    return {
        "arm": name,
        "score": report.score,
        "n": len(data),
        "draft_calls": draft_calls,
        "draft_s": draft_s,
        "episodes": sum(len(log.episodes) for log in logs),
        "eval_calls": lm.usage.calls - calls,
        "docs": {tool.name: tool.doc.value for tool in graph.tools()},
    }


async def run(args: argparse.Namespace) -> list[dict]:
    gguf = None if args.embedded else args.gguf or qwen_coder_gguf()
    with tempfile.TemporaryDirectory() as cache:  # a cold cache: every call is a real model call
        lm = connect(gguf=gguf, max_tokens=512, concurrency=2, cache_dir=Path(cache), env=False)
        print(f"model: {lm.config.label}; machine: {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}", flush=True)  # fmt: skip
        names = list(ARMS) if args.ablations else list(ARMS)[:3]
        rows = []
        for name in names:
            row = await arm(name, ARMS[name], lm, args.episodes, args.split)
            spent = f"DRAFT {row['draft_calls']} calls, {row['episodes']} episodes, {row['draft_s']:.0f} s"
            scored = f"{row['score']:.3f} on {row['n']} {args.split} tasks"
            print(f"{name}: {scored}; {spent}; eval {row['eval_calls']} calls", flush=True)
            if ARMS[name] is not None:  # show what DRAFT wrote
                for tool, doc in row["docs"].items():
                    print(f"  {tool}: {doc}", flush=True)
            rows.append(row)
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", type=Path, help="GGUF model file (default: Qwen2.5-Coder-0.5B from [bench])")
    parser.add_argument("--embedded", action="store_true", help="use the embedded SmolLM2-135M instead")
    parser.add_argument("--episodes", type=int, default=5, help="DRAFT episodes per tool (default 5)")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"], help="tasks to score")
    parser.add_argument("--ablations", action="store_true", help="also run DRAFT without diversity / termination")
    args = parser.parse_args()
    rows = asyncio.run(run(args))
    base = rows[0]["score"]
    print("\n| arm | accuracy | vs original | DRAFT calls | DRAFT episodes | eval calls |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        ratio = f"{row['score'] / base:.2f}×" if base else "—"
        print(f"| {row['arm']} | {row['score']:.3f} | {ratio} | {row['draft_calls']} | {row['episodes']} "
              f"| {row['eval_calls']} |")  # fmt: skip


if __name__ == "__main__":
    main()
