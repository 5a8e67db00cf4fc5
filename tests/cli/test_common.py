"""What every command shares (ann/cli/common.py), as a user meets it against a loopback server:
a spec or bundle imports only trusted tools, and never sends an environment key where it points."""

import json
from pathlib import Path

import pytest

from ann import graph_from_spec, load_spec
from ann.bundle import make_bundle, save_bundle
from ann.cli import main
from ann.testing import OpenAIServer
from tests.test_trust import TOOLS

SECRET = "sk-env-secret-123"
TOOL_SPEC = """\
name: shop
inputs: [question]
outputs: [answer]
metric: exact_match
tools: {tools}
graph:
  layers:
    - {{name: solve, inputs: [question], outputs: [answer], agents: [{{name: clerk, tools: [reserve]}}]}}
"""
MODEL_SPEC = """\
name: echo
inputs: [question]
outputs: [answer]
model: {{name: openai/x, api_base: {api_base}}}
graph:
  layers:
    - {{name: solve, inputs: [question], outputs: [answer], agents: [{{name: a}}]}}
"""
INPUT = ["--input", '{"question": "Reserve a pen."}']


def reply(request):
    return json.dumps({"action": "final_answer", "answer": "reserved pen"})


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("ANN_MODEL", "ANN_API_BASE", "ANN_TOOL_ENV", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    with OpenAIServer(reply) as running:
        yield running


def flags(server):
    return ["--model", "openai/x", "--api-base", server.base_url, "--no-cache", "--retries", "0", "--timeout", "5"]


def imported(folder: Path) -> list[Path]:
    return sorted(path.with_suffix(".py") for path in folder.rglob("*.imported"))


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def write_spec(folder: Path, tools: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.yaml").write_text(TOOL_SPEC.format(tools=tools), encoding="utf-8")
    return folder / "spec.yaml"


# tools: inert until trusted


def test_a_spec_runs_the_tools_in_its_own_folder_without_flags(capsys, tmp_path, server):
    (tmp_path / "tools.py").write_text(TOOLS, encoding="utf-8")
    code = main(["run", str(write_spec(tmp_path, "tools.py")), *INPUT, *flags(server)])
    assert code == 0, capsys.readouterr().err
    assert imported(tmp_path) == [tmp_path / "tools.py"]


def test_run_refuses_a_spec_whose_tools_lie_outside_its_folder_until_trusted(capsys, tmp_path, server):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "tools.py").write_text(TOOLS, encoding="utf-8")
    spec = write_spec(tmp_path / "spec", "../elsewhere/tools.py")
    code = main(["run", str(spec), *INPUT, *flags(server)])
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert f"{spec}: not importing tools file {tmp_path / 'elsewhere' / 'tools.py'}: it lies outside" in line
    assert "--trust-tools" in line
    assert imported(tmp_path) == [] and server.request_count == 0
    assert main(["run", str(spec), *INPUT, *flags(server), "--trust-tools"]) == 0
    assert imported(tmp_path) == [tmp_path / "elsewhere" / "tools.py"]


@pytest.mark.parametrize("command", ["eval", "compile", "run"])
def test_a_bundle_whose_tools_file_changed_is_refused_by_every_command(capsys, tmp_path, server, command):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "tools.py").write_text(TOOLS, encoding="utf-8")
    spec = load_spec(write_spec(tmp_path / "src", "tools.py"))
    bundle = tmp_path / "run" / "bundle.json"
    save_bundle(make_bundle(graph_from_spec(spec), spec=spec), bundle)
    for mark in tmp_path.rglob("*.imported"):
        mark.unlink()
    (tmp_path / "run" / "bundle.tools.py").write_text(TOOLS + "\nprint('changed')\n", encoding="utf-8")
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({"question": "Reserve a pen.", "answer": "reserved pen"}) + "\n", encoding="utf-8")
    argv = {
        "eval": ["eval", str(bundle), "--data", str(data)],
        "compile": ["compile", str(bundle), "--train", str(data), "--val", str(data), "--out", str(tmp_path / "o")],
        "run": ["run", str(bundle), *INPUT],
    }[command]
    code = main([*argv, *flags(server)])
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert f"{bundle}: not importing tools file" in line and "sha256 differs from the one recorded" in line
    assert imported(tmp_path) == [] and server.request_count == 0


# keys: a file never redirects one


def model_source(tmp_path: Path, api_base: str, kind: str) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(MODEL_SPEC.format(api_base=api_base), encoding="utf-8")
    if kind == "spec":
        return spec
    loaded = load_spec(spec)
    save_bundle(make_bundle(graph_from_spec(loaded), spec=loaded), tmp_path / "bundle.json")
    return tmp_path / "bundle.json"


@pytest.mark.parametrize("kind", ["spec", "bundle"])
def test_an_api_base_from_a_file_is_never_sent_a_key_from_the_environment(capsys, tmp_path, monkeypatch, kind):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with OpenAIServer(lambda request: "42") as elsewhere:
        source = model_source(tmp_path, elsewhere.base_url, kind)
        code = main(["run", str(source), "--input", '{"question": "6 times 7?"}', "--no-cache", "--retries", "0"])
        keys = elsewhere.authorizations
    out, err = capsys.readouterr()
    assert code == 0 and "answer: 42" in out
    assert keys == ["Bearer sk-none"]  # the file's endpoint answered, but got no key
    assert f"model.api_base {elsewhere.base_url} without any API key" in err and SECRET not in err


@pytest.mark.parametrize("how", ["flag", "env"])
def test_an_api_base_the_user_gives_is_sent_the_environment_key(capsys, tmp_path, monkeypatch, how):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with OpenAIServer(lambda request: "other") as spec_endpoint, OpenAIServer(lambda request: "42") as users:
        source = model_source(tmp_path, spec_endpoint.base_url, "spec")
        user_flags = ["--api-base", users.base_url] if how == "flag" else []
        if how == "env":
            monkeypatch.setenv("ANN_API_BASE", users.base_url)
        code = main(["run", str(source), "--input", '{"question": "6 times 7?"}', "--no-cache", *user_flags])
        assert code == 0 and "answer: 42" in capsys.readouterr().out
        assert users.authorizations == [f"Bearer {SECRET}"] and spec_endpoint.request_count == 0
