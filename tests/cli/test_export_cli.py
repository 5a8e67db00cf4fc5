"""`ann export`: prompts replayed over plain HTTP equal ann's own requests; Markdown and diagrams read right."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import networkx as nx
import pytest

from ann import Agent, Graph, Layer, connect, graph_from_spec, load_spec
from ann.bundle import Scores, make_bundle, save_bundle
from ann.cli import main
from ann.export.chat import fill_messages
from ann.params import HistoryEntry
from ann.testing import OpenAIServer

TICKET = "I was charged twice for order 7."
DEMO = {"ticket": "Where is my parcel?", "category": "shipping"}
OLD_INSTRUCTIONS = "Name the team that handles the ticket."
NEW_INSTRUCTIONS = "Name the team: billing for payments, shipping for parcels."


ANSWERS = {"a kind writer": "Refund is on its way!", "a brief writer": "Refunded.", "a plain writer": "refunded"}


def reply(request: dict[str, Any]) -> str:
    """The route agent answers a category; each writer a JSON object, two of three agreeing once normalised."""
    system = request["messages"][0]["content"]
    if system.endswith("Reply with the category."):
        return "billing"
    role = system.split("You are ")[1].split(".")[0]
    return json.dumps({"answer": ANSWERS[role], "tone": "calm" if role != "a plain writer" else "formal"})


def trained_graph() -> Graph:
    router = Agent("router", role="a support triage agent", instructions=NEW_INSTRUCTIONS)
    router.demos.value = json.dumps([DEMO])
    router.instructions.history = [HistoryEntry(OLD_INSTRUCTIONS, 0.4), HistoryEntry(NEW_INSTRUCTIONS, 0.9, 3)]
    route = Layer("route", [router], "single", inputs=["ticket"], outputs=["category"])
    writers = [Agent("kind", role="a kind writer", instructions="Answer warmly."),
               Agent("brief", role="a brief writer", instructions="Answer in one sentence."),
               Agent("plain", role="a plain writer", instructions="Answer plainly.")]  # fmt: skip
    answer = Layer("answer", writers, "vote", inputs=["ticket", "category"], outputs=["answer", "tone"])
    return Graph(
        [route, answer],
        inputs=["ticket"],
        outputs=["answer", "tone"],
        name="support",
        description="Answer a customer's support ticket.",
        fields={"tone": "how the answer sounds"},
        choices={"tone": ["calm", "formal"]},
    )


@pytest.fixture
def bundle_path(tmp_path: Path) -> Path:
    graph = trained_graph()
    bundle = make_bundle(graph, scores=Scores(baseline=0.4, best=0.9), training={"steps": 4, "accepted": 1})
    path = tmp_path / "bundle.json"
    save_bundle(bundle, path)
    return path


@pytest.fixture
def server() -> OpenAIServer:
    with OpenAIServer(reply=reply) as running:
        yield running


@pytest.fixture(autouse=True)
def no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANN_MODEL", raising=False)
    monkeypatch.delenv("ANN_API_BASE", raising=False)


def export(capsys: pytest.CaptureFixture[str], bundle: Path, fmt: str) -> str:
    capsys.readouterr()
    assert main(["export", str(bundle), "--format", fmt]) == 0
    return capsys.readouterr().out


def replay(document: dict[str, Any], server: OpenAIServer, values: dict[str, str], style: str | None) -> None:
    """Send every exported call, filled with ``values``, with nothing but httpx."""
    for call in document["calls"]:
        body: dict[str, Any] = {"model": "x", "messages": fill_messages(call["messages"], values), **call["request"]}
        if style is not None and call["response_format"][style] is not None:
            body["response_format"] = call["response_format"][style]
        httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=10).raise_for_status()


def same_bodies(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> bool:
    """The same request bodies, in any order (a vote layer's members call concurrently)."""
    return sorted(json.dumps(b, sort_keys=True) for b in first) == sorted(json.dumps(b, sort_keys=True) for b in second)


def test_replayed_prompts_equal_ann_requests_with_a_constrained_reply(capsys, bundle_path, server) -> None:
    # ann itself, through DSPy and LiteLLM, with llama.cpp-style schema constraints.
    lm = connect("openai/x", api_base=server.base_url, api_key="sk-test", schema_style="llamacpp", cache=False,
                 seed=0, env=False)  # fmt: skip
    result = Graph.load(bundle_path)(ticket=TICKET, lm=lm)
    sent_by_ann = server.requests
    assert result.outputs == {"answer": "Refunded.", "tone": "calm"} and len(sent_by_ann) == 4

    document = json.loads(export(capsys, bundle_path, "prompts"))
    replay(document, server, {"ticket": TICKET, "category": "billing"}, "llamacpp")
    replayed = server.requests[len(sent_by_ann) :]

    assert same_bodies(replayed, sent_by_ann)  # whole bodies: model, messages, settings and response_format
    assert sent_by_ann[1]["response_format"]["schema"]["properties"]["tone"]["enum"] == ["calm", "formal"]


def test_replayed_prompts_equal_what_ann_run_sends(capsys, bundle_path, server) -> None:
    flags = ["--model", "openai/x", "--api-base", server.base_url, "--no-cache", "--retries", "0", "--json"]
    assert main(["run", str(bundle_path), "--input", json.dumps({"ticket": TICKET}), *flags]) == 0
    sent_by_ann = server.requests
    document = json.loads(export(capsys, bundle_path, "prompts"))
    replay(document, server, {"ticket": TICKET, "category": "billing"}, None)  # hosted models get no schema
    assert same_bodies(server.requests[len(sent_by_ann) :], sent_by_ann)


def test_prompts_export_is_a_template_with_demos_as_turns_and_an_example(capsys, bundle_path) -> None:
    document = json.loads(export(capsys, bundle_path, "prompts"))
    route, kind, _brief, _plain = document["calls"]
    assert [m["role"] for m in route["messages"]] == ["system", "user", "assistant", "user"]
    assert route["messages"][1:3] == [{"role": "user", "content": DEMO["ticket"]},
                                      {"role": "assistant", "content": "shipping"}]  # fmt: skip
    assert route["messages"][-1]["content"] == "{{ticket}}"
    assert route["reply"] == {"format": "text", "outputs": ["category"], "schema": None, "choices": {}}
    assert route["example"]["messages"][-1]["content"] == DEMO["ticket"]
    assert kind["messages"][-1]["content"] == "Ticket:\n{{ticket}}\n\nCategory:\n{{category}}"
    assert kind["reply"]["format"] == "json" and kind["team_type"] == "vote"
    assert '"tone": how the answer sounds (one of: calm, formal)' in kind["messages"][0]["content"]


def test_markdown_reads_as_a_document(capsys, bundle_path) -> None:
    text = export(capsys, bundle_path, "markdown")
    assert text.startswith("# support\n\nAnswer a customer's support ticket.\n")
    assert "- Validation score: 0.400 before training, 0.900 after" in text
    assert "### 1. Step `route`" in text and "### 2. Step `answer`" in text
    assert "Team: `vote` — self-consistency" in text
    assert "> " + NEW_INSTRUCTIONS in text
    assert f'- step 3, validation score 0.900: "{NEW_INSTRUCTIONS}"' in text  # where the text came from
    assert f'Given ticket = "{DEMO["ticket"]}" → category = "shipping"' in text
    assert "```mermaid\nflowchart LR" in text


def test_mermaid_and_graphml_draw_the_dag(capsys, bundle_path, tmp_path) -> None:
    mermaid = export(capsys, bundle_path, "mermaid")
    assert 'layer_route -->|"category"| layer_answer' in mermaid
    assert 'graph_input -->|"ticket"| layer_route' in mermaid
    out = tmp_path / "graph.graphml"
    assert main(["export", str(bundle_path), "--format", "graphml", "--out", str(out)]) == 0
    dag = nx.read_graphml(out)
    assert set(dag.edges) == {("<input>", "route"), ("<input>", "answer"), ("route", "answer"), ("answer", "<output>")}
    assert dag.nodes["answer"]["team_type"] == "vote" and dag.nodes["answer"]["agents"] == "kind, brief, plain"
    assert dag.edges["answer", "<output>"]["fields"] == "answer, tone"


def test_dspy_format_is_the_interop_exporters_program(capsys, bundle_path) -> None:
    from ann.bundle import load_bundle
    from ann.interop import export_dspy

    text = export(capsys, bundle_path, "dspy")
    assert text.rstrip("\n") == export_dspy(load_bundle(bundle_path)).rstrip("\n")
    assert "class Program(dspy.Module)" in text


def test_the_cli_offers_every_export_format() -> None:
    from ann.cli.flags import EXPORT_FORMATS as CLI_FORMATS
    from ann.export import FORMATS

    assert CLI_FORMATS == FORMATS


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": "other"}', "not an ann bundle"),
        ('{"format": "ann.bundle", "version": 9}', "bundle version 9 is not supported"),
    ],
)
def test_malformed_bundle_gives_one_line(capsys, tmp_path, content, message) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    assert main(["export", str(path), "--format", "markdown"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_export_refuses_a_spec(capsys, tmp_path) -> None:
    assert main(["export", str(tmp_path / "spec.yaml"), "--format", "prompts"]) == 2
    assert "export reads a bundle" in capsys.readouterr().err


def test_a_tool_agents_first_turn_replays_equal_without_importing_its_tools(capsys, tmp_path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "tools"
    for name in ("spec.yaml", "tools.py"):
        (tmp_path / name).write_text((examples / name).read_text(encoding="utf-8"), encoding="utf-8")
    spec = load_spec(tmp_path / "spec.yaml")
    bundle_path = tmp_path / "bundle.json"
    save_bundle(make_bundle(graph_from_spec(spec), spec=spec), bundle_path)
    question = "How many metres are 3 furlongs?"
    with OpenAIServer(reply=lambda request: json.dumps({"action": "final_answer", "answer": "603.504"})) as server:
        flags = ["--model", "openai/x", "--api-base", server.base_url, "--no-cache", "--retries", "0", "--json"]
        assert main(["run", str(bundle_path), "--input", json.dumps({"question": question}), *flags]) == 0
        sent_by_ann = server.requests
        document = json.loads(export(capsys, bundle_path, "prompts"))
        (call,) = document["calls"]
        assert call["reply"]["format"] == "tool_loop" and "convert_length(" in call["messages"][0]["content"]
        replay(document, server, {"question": question}, None)
        assert same_bodies(server.requests[len(sent_by_ann) :], sent_by_ann)
    markdown = export(capsys, bundle_path, "markdown")
    assert "**Tool `convert_length(value, unit, to)`:**\n\n> Convert a length." in markdown


def test_markdown_of_a_compiled_bundle_tells_where_the_trained_text_came_from(capsys, tmp_path, monkeypatch) -> None:
    from tests.cli import test_compile_cli as compiled

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    spec = tmp_path / "spec.yaml"
    spec.write_text(compiled.SPEC, encoding="utf-8")
    train = compiled.write_jsonl(tmp_path / "train.jsonl", compiled.TRAIN, "t")
    val = compiled.write_jsonl(tmp_path / "val.jsonl", compiled.VAL, "v")
    with OpenAIServer(reply=compiled.make_reply()) as server:
        argv = ["compile", spec, "--train", train, "--val", val, "--out", tmp_path / "run", "--epochs", 1,
                "--batch-size", 2, *compiled.model_flags(server.base_url), "--json"]  # fmt: skip
        assert main([str(arg) for arg in argv]) == 0
    text = export(capsys, tmp_path / "run" / "bundle.json", "markdown")
    assert "- Validation score: 0.000 before training, 1.000 after" in text
    history = text.split("**Instructions:**")[1].split("## Training")[0]
    assert f'- original (spec), validation score 0.000: "{compiled.OLD_INSTRUCTIONS}"' in history
    assert f'validation score 1.000: "{compiled.NEW_INSTRUCTIONS}"' in history
    assert "- Accepted changes: 1" in text and "- Settings: epochs 1, batch size 2," in text


def test_standalone_python_file_gives_what_ann_run_gives(capsys, bundle_path, server, tmp_path) -> None:
    runner = tmp_path / "support.py"
    assert main(["export", str(bundle_path), "--format", "python", "--out", str(runner)]) == 0
    source = runner.read_text(encoding="utf-8")
    assert "every layer is `single` or `vote`" in source
    assert "from ann." not in source and "\nimport ann" not in source
    inputs = [TICKET, "Where is my parcel?"]
    flags = ["--model", "openai/x", "--api-base", server.base_url, "--no-cache", "--retries", "0", "--json"]
    expected = []
    for ticket in inputs:
        capsys.readouterr()
        assert main(["run", str(bundle_path), "--input", json.dumps({"ticket": ticket}), *flags]) == 0
        expected.append(json.loads(capsys.readouterr().out)["outputs"])
    sent_by_ann = server.requests
    got = []
    for ticket in inputs:
        argv = [sys.executable, "-I", str(runner), "--api-base", server.base_url, "--model", "x",
                "--api-key", "sk-test", "--input", json.dumps({"ticket": ticket})]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
        assert done.returncode == 0, done.stderr
        got.append(json.loads(done.stdout))
    assert got == expected and expected[0] == {"answer": "Refunded.", "tone": "calm"}
    assert same_bodies(server.requests[len(sent_by_ann) :], sent_by_ann)  # the very same requests, too


def test_standalone_python_file_names_the_team_types_it_approximates(capsys, tmp_path) -> None:
    graph = trained_graph()
    graph.layers["answer"].aggregator.value = "judge"
    path = tmp_path / "bundle.json"
    save_bundle(make_bundle(graph), path)
    source = export(capsys, path, "python")
    assert "Approximated: answer (judge)" in source
