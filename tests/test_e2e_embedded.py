"""End to end on the real embedded model (SmolLM2-135M via llama.cpp, through LiteLLM)."""

import json
from pathlib import Path

import pytest

from ann import Agent, Example, Graph, Layer, connect
from ann.cli import main

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def test_cli_eval_three_arithmetic_examples(tmp_path, capsys):
    code = main(
        [
            "eval", str(ROOT / "examples/arithmetic/spec.yaml"),
            "--data", str(ROOT / "examples/arithmetic/test.jsonl"),
            "--limit", "3", "--json", "--cache-dir", str(tmp_path / "cache"),
        ]
    )  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["examples"] == 3 and summary["failed_runs"] == 0
    assert summary["calls"] == 3 * 4 and summary["completion_tokens"] > 0
    assert summary["model"].startswith("embedded SmolLM2-135M-Instruct at http://127.0.0.1:")
    print(f"embedded arithmetic: score {summary['score']}, parse failures {summary['parse_failures']}")


def test_constrained_json_replies_always_parse(tmp_path):
    lm = connect(cache=False, max_tokens=96)
    extract = Layer(
        "extract",
        [Agent("reader", role="a careful reader", instructions="Find the person's name and the city.")],
        inputs=["text"],
        outputs=["name", "city"],
    )
    graph = Graph([extract], inputs=["text"], outputs=["name", "city"], lm=lm)
    texts = [
        "Maria moved to Lisbon in 2019.",
        "Yesterday Kenji flew home to Osaka.",
        "The letter from Omar was posted in Cairo.",
        "Priya works in a bakery in Toronto.",
    ]
    results = graph.batch([Example(inputs={"text": t}, id=str(i)) for i, t in enumerate(texts)])
    calls = [c for r in results for c in r.trace.calls]
    failures = sum(1 for c in calls if c.error)
    print(f"embedded JSON parse failures: {failures}/{len(calls)}")
    assert failures == 0, [c.raw for c in calls if c.error]
    assert all(set(r.outputs) == {"name", "city"} for r in results)


def test_compile_on_the_embedded_model(tmp_path, capsys):
    data = ROOT / "examples/tickets"
    lines = (data / "train.jsonl").read_text().splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:4]) + "\n")
    (tmp_path / "val.jsonl").write_text("\n".join((data / "val.jsonl").read_text().splitlines()[:4]) + "\n")
    out = tmp_path / "run"
    code = main(
        [
            "compile", str(data / "spec.yaml"), "--train", str(tmp_path / "train.jsonl"),
            "--val", str(tmp_path / "val.jsonl"), "--out", str(out), "--epochs", "1", "--candidates", "1",
            "--max-calls", "80", "--json", "--cache-dir", str(tmp_path / "cache"),
        ]
    )  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["val_after"] >= summary["val_before"] and summary["steps"] >= 1
    bundle = json.loads((out / "bundle.json").read_text())
    assert bundle["format"] == "ann.bundle" and bundle["scores"]["best"] == summary["val_after"]
    assert (out / "history.jsonl").read_text().count("\n") == summary["steps"]
    print(f"embedded compile: {summary['val_before']} -> {summary['val_after']} in {summary['steps']} steps")


def test_tools_refine_on_the_embedded_model_calls_the_tool_and_writes_docs(tmp_path, capsys):
    out = tmp_path / "draft"
    code = main(
        [
            "tools", "refine", str(ROOT / "examples/tools/tools.py"), "--out", str(out),
            "--only", "convert_length", "--episodes", "2", "--cache-dir", str(tmp_path / "cache"),
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "convert_length · episode 1" in printed
    (run,) = json.loads((out / "draft.json").read_text())["tools"]
    assert run["initial_doc"] == "Convert a length." and run["episodes"]
    first = run["episodes"][0]
    # the tool really ran on the explorer's arguments: a number back, or the tool's own error text
    assert first["result"].replace(".", "", 1).isdigit() or "unknown unit" in first["result"], first
    assert (out / "tools.md").read_text().startswith("# Tool docs refined by DRAFT")
