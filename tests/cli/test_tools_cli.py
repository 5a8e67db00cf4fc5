"""`ann tools refine` in-process against a loopback OpenAI-compatible server (chat and embeddings
through LiteLLM for real): real tool calls, episodes printed, docs and logs written."""

import json
from pathlib import Path

import pytest

from ann.cli import main
from ann.optimizers.prompts import ANALYZER_ROLE, DRAFT_REWRITER_ROLE, EXPLORER_ROLE
from ann.testing import OpenAIServer
from tests.shop_api import SEEN, short_form

TOOLS = '''\
CALLS = []


def reserve(item: str, qty: int) -> str:
    """Reserve items."""
    CALLS.append([item, qty])
    if qty > 5:
        raise ValueError("at most 5 per order")
    return f"reserved {qty} {item}"
'''
SHOP_SPEC = """\
name: shop
inputs: [question]
outputs: [answer]
metric: exact_match
tools: tools.py
graph:
  layers:
    - {name: solve, inputs: [question], outputs: [answer], agents: [{name: clerk, tools: [reserve]}]}
"""
PROBES = [{"item": "pen", "qty": 2}, {"item": "ink", "qty": 9}]
DOCS = ["Reserve items by name.", "Reserve up to 5 items by name; a larger qty raises an error."]


def server_script():
    probes, docs = iter(PROBES), iter(DOCS)

    def reply(request):
        system = request["messages"][0]["content"]
        if EXPLORER_ROLE in system:
            return json.dumps({"arguments": next(probes)})
        if ANALYZER_ROLE in system:
            return json.dumps({"suggestions": "Say that qty is capped at 5."})
        if DRAFT_REWRITER_ROLE in system:
            return json.dumps({"documentation": next(docs)})
        raise AssertionError(system[:80])

    return reply


def test_refine_calls_the_tools_for_real_prints_episodes_and_writes_docs(tmp_path, capsys):
    module = tmp_path / "tools.py"
    module.write_text(TOOLS, encoding="utf-8")
    with OpenAIServer(server_script()) as server:
        flags = ["--model", "openai/test", "--api-base", server.base_url, "--no-cache"]
        embed = ["--embed-model", "openai/embed", "--embed-api-base", server.base_url]
        code = main(["tools", "refine", str(module), "--out", str(tmp_path / "out"), "--episodes", "2",
                     "--tau", "1.5", *flags, *embed])  # fmt: skip
        embedded = [r["input"] for r in server.requests if "input" in r]
    out = capsys.readouterr().out
    assert code == 0, out
    assert "reserve · episode 1" in out and "reserve · episode 2" in out and "at most 5 per order" in out
    log = json.loads((tmp_path / "out" / "draft.json").read_text())
    (run,) = log["tools"]
    assert [e["args"] for e in run["episodes"]] == PROBES
    assert [e["ok"] for e in run["episodes"]] == [True, False]
    assert run["episodes"][1]["result"] == "ValueError: at most 5 per order"
    assert log["module_sha256"] and log["embedder"] == "openai/embed"
    assert embedded[0] == [json.dumps(PROBES[0], sort_keys=True)]  # the probe went to the embedding model
    docs = (tmp_path / "out" / "tools.md").read_text()
    assert DOCS[1] in docs and "Reserve items." in docs


def test_refine_from_a_spec_writes_a_bundle_with_the_refined_doc(tmp_path):
    (tmp_path / "tools.py").write_text(TOOLS, encoding="utf-8")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SHOP_SPEC, encoding="utf-8")
    with OpenAIServer(server_script()) as server:
        flags = ["--model", "openai/test", "--api-base", server.base_url, "--no-cache"]
        embed = ["--embed-model", "openai/embed", "--embed-api-base", server.base_url]
        code = main(["tools", "refine", str(spec), "--out", str(tmp_path / "out"), "--episodes", "2", "--tau", "1.5",
                     *flags, *embed])  # fmt: skip
    assert code == 0
    bundle = json.loads((tmp_path / "out" / "bundle.json").read_text())
    assert bundle["params"]["solve.clerk.tools.reserve.doc"]["value"] == DOCS[1]
    assert bundle["spec"]["tools"] == "bundle.tools.py"  # copied beside the bundle, whose folder it may load from
    assert (tmp_path / "out" / "bundle.tools.py").read_text(encoding="utf-8") == TOOLS
    assert len(bundle["draft"][0]["episodes"]) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--only", "teleport"], "--only teleport: no such tool; there are ['reserve']"),
        (["--episodes", "0"], "--episodes must be 1 or more"),
        (["--phi", "0"], "--phi must be in (0, 2]"),
    ],
)
def test_bad_refine_flags_are_one_line_errors(tmp_path, capsys, argv, message):
    module = tmp_path / "tools.py"
    module.write_text(TOOLS, encoding="utf-8")
    code = main(["tools", "refine", str(module), "--out", str(tmp_path / "out"), *argv])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not Path(tmp_path / "out" / "draft.json").exists()


def test_refine_explores_a_web_api_described_in_a_file(tmp_path, api, monkeypatch):
    monkeypatch.setenv("SHOP_KEY", "k")
    monkeypatch.setenv("ANN_TOOL_ENV", "SHOP_KEY")
    description = tmp_path / "shop.yaml"
    description.write_text(json.dumps(short_form(api)), encoding="utf-8")
    probes = iter([{"sku": "1042", "warehouse": "BER"}])

    def reply(request):
        system = request["messages"][0]["content"]
        if EXPLORER_ROLE in system:
            return json.dumps({"arguments": next(probes)})
        if ANALYZER_ROLE in system:
            return json.dumps({"suggestions": "SKUs look like SKU-1042."})
        return json.dumps({"documentation": "Look up stock; the sku is written like SKU-1042."})

    with OpenAIServer(reply) as server:
        flags = ["--model", "openai/test", "--api-base", server.base_url, "--no-cache"]
        embed = ["--embed-model", "openai/embed", "--embed-api-base", server.base_url]
        code = main(["tools", "refine", str(description), "--out", str(tmp_path / "out"), "--only", "stock_level",
                     "--episodes", "1", *flags, *embed])  # fmt: skip
    assert code == 0
    (run,) = json.loads((tmp_path / "out" / "draft.json").read_text())["tools"]
    assert run["episodes"][0]["result"].startswith("RuntimeError: HTTP 404: ")  # the real API answered the probe
    assert SEEN[0]["path"] == "/stock/1042"


def test_compile_with_draft_keeps_refined_docs_that_raise_validation(tmp_path, capsys):
    (tmp_path / "tools.py").write_text(TOOLS, encoding="utf-8")
    (tmp_path / "spec.yaml").write_text(SHOP_SPEC, encoding="utf-8")
    rows = [json.dumps({"question": f"Reserve {i} pens.", "answer": f"reserved {i} pen"}) for i in range(1, 6)]
    (tmp_path / "data.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    draft = server_script()

    def reply(request):
        messages = request["messages"]
        system, last = messages[0]["content"], messages[-1]["content"]
        if "You can use these tools" not in system:
            return draft(request)
        if last.startswith("Observation from reserve: "):
            return json.dumps({"action": "final_answer", "answer": last.split(": ", 1)[1]})
        if "up to 5" in system:  # the refined doc: the clerk now calls the tool
            qty = int(last.split("Reserve ")[1].split()[0])
            return json.dumps({"action": "reserve", "arguments": {"item": "pen", "qty": qty}})
        return json.dumps({"action": "final_answer", "answer": "done"})

    with OpenAIServer(reply) as server:
        flags = ["--model", "openai/test", "--api-base", server.base_url, "--no-cache"]
        embed = ["--embed-model", "openai/embed", "--embed-api-base", server.base_url]
        data = str(tmp_path / "data.jsonl")
        run = ["--out", str(tmp_path / "run"), "--draft", "--episodes", "2", "--tau", "1.5", "--json"]
        code = main(["compile", str(tmp_path / "spec.yaml"), "--train", data, "--val", data, *run, *flags, *embed])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and (summary["val_before"], summary["val_after"]) == (0.0, 1.0)
    bundle = json.loads((tmp_path / "run" / "bundle.json").read_text())
    assert bundle["params"]["solve.clerk.tools.reserve.doc"]["value"] == DOCS[1]
    assert [e["args"] for e in bundle["draft"][0]["episodes"]] == PROBES
    history = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert history[0]["note"] == "draft: tool docs" and history[0]["accepted"]


@pytest.mark.parametrize("allow", [[], ["--draft-allow-unsafe", "quote"]])
def test_refine_skips_a_post_operation_unless_the_user_allows_it(tmp_path, api, monkeypatch, capsys, allow):
    monkeypatch.setenv("SHOP_KEY", "k")
    monkeypatch.setenv("ANN_TOOL_ENV", "SHOP_KEY")
    description = tmp_path / "shop.yaml"
    description.write_text(json.dumps(short_form(api)), encoding="utf-8")

    def reply(request):
        system = request["messages"][0]["content"]
        if EXPLORER_ROLE in system:
            quoting = "quote(" in request["messages"][-1]["content"]
            return json.dumps({"arguments": {"grams": 250} if quoting else {"sku": "SKU-1042"}})
        if ANALYZER_ROLE in system:
            return json.dumps({"suggestions": "Fine."})
        return json.dumps({"documentation": "A doc."})

    with OpenAIServer(reply) as server:
        flags = ["--model", "openai/test", "--api-base", server.base_url, "--no-cache"]
        embed = ["--embed-model", "openai/embed", "--embed-api-base", server.base_url]
        code = main(["tools", "refine", str(description), "--out", str(tmp_path / "out"), "--episodes", "1",
                     *allow, *flags, *embed])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    stock, quote = json.loads((tmp_path / "out" / "draft.json").read_text())["tools"]
    assert len(stock["episodes"]) == 1 and SEEN[0]["path"] == "/stock/SKU-1042"  # GET: explored unasked
    if allow:
        assert len(quote["episodes"]) == 1 and SEEN[1] == {"path": "/quote", "body": {"grams": 250}}
    else:
        assert quote["episodes"] == [] and quote["stopped"].startswith("not explored: POST is not a safe method")
        assert len(SEEN) == 1
        assert "DRAFT will not call quote (POST is not a safe method); allow it with --draft-allow-unsafe quote" in out


def test_draft_allow_unsafe_must_name_a_tool(tmp_path, api, capsys):
    description = tmp_path / "shop.yaml"
    description.write_text(json.dumps(short_form(api)), encoding="utf-8")
    code = main(["tools", "refine", str(description), "--out", str(tmp_path / "out"), "--draft-allow-unsafe", "qoute"])
    assert code == 2
    assert "--draft-allow-unsafe qoute: no such tool to explore; there are ['quote', 'stock_level']" in (
        capsys.readouterr().err
    )
