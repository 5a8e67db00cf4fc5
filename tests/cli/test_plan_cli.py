import json

from ann.cli import main
from ann.spec import load_spec
from ann.testing import OpenAIServer

SPEC = """name: tickets
description: Route a ticket.
inputs: [ticket]
outputs: [category]
metric: exact_match
"""
PLAN = {
    "layers": [
        {"name": "route", "inputs": ["ticket"], "outputs": ["category"], "aggregator": "single",
         "agents": [{"name": "router", "role": "a router", "instructions": "Pick the team."}]}
    ]
}  # fmt: skip


def test_plan_prints_and_writes_a_runnable_spec(tmp_path, capsys):
    (tmp_path / "spec.yaml").write_text(SPEC)
    with OpenAIServer(reply=lambda request: json.dumps(PLAN)) as server:
        code = main(["plan", str(tmp_path / "spec.yaml"), "--write", str(tmp_path / "planned.yaml"),
                     "--model", "openai/x", "--api-base", server.base_url, "--no-cache", "--retries", "0"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "route single" in out and "agent router: a router" in out
    planned = load_spec(tmp_path / "planned.yaml")
    assert planned.graph.layers[0].agents[0].instructions == "Pick the team."


def test_plan_that_never_validates_is_one_line_exit_1(tmp_path, capsys):
    (tmp_path / "spec.yaml").write_text(SPEC)
    with OpenAIServer(reply=lambda request: "no plan") as server:
        code = main(["plan", str(tmp_path / "spec.yaml"), "--model", "openai/x", "--api-base", server.base_url,
                     "--no-cache", "--retries", "0"])  # fmt: skip
        assert server.request_count == 3
    err = capsys.readouterr().err
    assert code == 1 and err.strip().startswith("error: the planner gave no valid graph in 3 tries")


def test_eval_of_a_spec_without_a_graph_says_to_plan(tmp_path, capsys):
    (tmp_path / "spec.yaml").write_text(SPEC)
    (tmp_path / "d.jsonl").write_text('{"ticket": "x", "category": "billing"}\n')
    assert main(["eval", str(tmp_path / "spec.yaml"), "--data", str(tmp_path / "d.jsonl")]) == 2
    assert "has no graph; plan one with `ann plan`" in capsys.readouterr().err


def test_compile_without_a_graph_plans_trains_and_reports_structural_edits(tmp_path, capsys):
    (tmp_path / "spec.yaml").write_text(SPEC)
    rows = "".join(json.dumps({"ticket": f"t{i}", "category": "billing"}) + "\n" for i in range(2))
    (tmp_path / "train.jsonl").write_text(rows)
    (tmp_path / "val.jsonl").write_text(rows)

    def reply(request):
        system = request["messages"][0]["content"]
        if "design a team of AI agents" in system:
            return json.dumps(PLAN)
        if "improve the structure" in system:
            edit = {"op": "add_agent", "layer": "route", "name": "expert", "role": "a billing expert", "reason": "r"}
            return json.dumps({"edit": edit})
        if "demanding reviewer" in system:
            return json.dumps({"critique": "It should be billing."})
        if "debugs teams" in system:
            return json.dumps({"agent_router": "Answer billing."})
        if "expert prompt engineer" in system:
            return json.dumps({"new_text": ""})
        return "shipping"

    out = tmp_path / "run"
    with OpenAIServer(reply=reply) as server:
        code = main(["compile", str(tmp_path / "spec.yaml"), "--train", str(tmp_path / "train.jsonl"),
                     "--val", str(tmp_path / "val.jsonl"), "--out", str(out), "--epochs", "1", "--batch-size", "2",
                     "--structure", "--model", "openai/x", "--api-base", server.base_url, "--no-cache",
                     "--retries", "0", "--json"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert load_spec(out / "plan.yaml").graph.layers[0].name == "route"
    report = (out / "report.md").read_text()
    assert "## Structural edits" in report
    assert "| layer 'route': add agent 'expert' (a billing expert) | 0.000 | reverted |" in report
