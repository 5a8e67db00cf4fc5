"""`ann diff`: text and --json output, and one-line errors."""

import json
from pathlib import Path

from ann import graph_from_spec, load_spec
from ann.bundle import Scores, make_bundle, save_bundle
from ann.cli import main

ROOT = Path(__file__).resolve().parents[2]
TICKETS = ROOT / "examples" / "tickets" / "spec.yaml"


def bundle(tmp_path: Path, instructions: str, best: float) -> Path:
    spec = load_spec(TICKETS)
    graph = graph_from_spec(spec)
    graph.layers["route"].agents[0].instructions.value = instructions
    path = tmp_path / f"{best}.json"
    save_bundle(make_bundle(graph, spec=spec, scores=Scores(baseline=0.5, best=best)), path)
    return path


def test_diff_of_two_bundles_prints_the_text_diff_and_the_score_change(capsys, tmp_path):
    a, b = bundle(tmp_path, "Say the team.", 0.5), bundle(tmp_path, "Say the team.\nPayments go to billing.", 0.8)
    assert main(["diff", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "param route.router.instructions (instructions) changed" in out
    assert " Say the team.\n+Payments go to billing." in out
    assert "best 0.500 → 0.800 (+0.300)" in out


def test_diff_json_is_machine_readable(capsys, tmp_path):
    a, b = bundle(tmp_path, "Say the team.", 0.5), bundle(tmp_path, "Name the team.", 0.6)
    assert main(["diff", str(TICKETS), str(b), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in data["params"]] == ["route.router.instructions"]
    assert data["params"][0]["after"] == "Name the team." and data["scores"]["after"]["best"] == 0.6
    assert data["structure"] == [] and data["demos"] == []
    assert main(["diff", str(a), str(a), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == []


def test_diff_of_a_bad_file_is_one_line_and_exit_2(capsys, tmp_path):
    (tmp_path / "x.json").write_text("{}")
    assert main(["diff", str(TICKETS), str(tmp_path / "x.json")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
