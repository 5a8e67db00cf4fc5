"""Bundle v1: the published schema, Graph.save / Graph.load round trips, freezing, load errors, no API keys."""

import importlib.util
import json
from pathlib import Path

import jsonschema
import pytest

from ann import ConfigError, Example, Graph, GraphError, graph_from_spec, load_spec
from ann.bundle import Scores, bundle_schema, load_bundle, make_bundle, save_bundle
from ann.datasets import make_metric
from ann.optimizers import ANNOptimizer
from ann.optimizers.prompts import CRITIC_ROLE, DEBUGGER_ROLE, REWRITER_ROLE, SUMMARISER_ROLE
from ann.params import HistoryEntry
from ann.testing.scripted_lm import scripted_client

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schema" / "bundle-v1.schema.json"
TICKETS = ROOT / "examples" / "tickets" / "spec.yaml"
ARITHMETIC = ROOT / "examples" / "arithmetic" / "spec.yaml"
SECRET = "sk-secret-xyz"


def committed_schema() -> dict:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def valid_bundle_data(tmp_path: Path) -> dict:
    """A bundle file's contents, as written by save_bundle for the tickets spec."""
    spec = load_spec(TICKETS)
    path = tmp_path / "valid.json"
    save_bundle(make_bundle(graph_from_spec(spec), spec=spec), path)
    return json.loads(path.read_text(encoding="utf-8"))


def params_view(graph: Graph) -> dict[str, tuple]:
    """Everything a bundle keeps about each param, by name."""
    return {
        name: (p.value, p.description, p.kind, p.trainable, [(e.value, e.score, e.step) for e in p.history])
        for name, p in graph.named_parameters()
    }


# the published schema


def test_the_committed_schema_is_bundle_schema() -> None:
    assert committed_schema() == bundle_schema(), "bundle format changed: run `python schema/make_schema.py`"
    spec = importlib.util.spec_from_file_location("make_schema", ROOT / "schema" / "make_schema.py")
    make_schema = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_schema)
    assert SCHEMA.read_text(encoding="utf-8") == make_schema.schema_text()
    assert make_schema.SCHEMA_PATH == SCHEMA


@pytest.mark.parametrize("spec_path", [TICKETS, ARITHMETIC], ids=["tickets", "arithmetic"])
def test_a_saved_bundle_validates_against_the_committed_schema(tmp_path: Path, spec_path: Path) -> None:
    spec = load_spec(spec_path)
    graph = graph_from_spec(spec)
    graph.freeze("*.role")
    bundle = make_bundle(
        graph,
        spec=spec,
        scores=Scores(baseline=0.25, best=0.75),
        data={"train": "sha256:abc", "val": "sha256:def"},
        training={"epochs": 2, "batch_size": 4, "max_calls": None, "stopped": "finished 2 epochs"},
    )
    path = tmp_path / "bundle.json"
    save_bundle(bundle, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(committed_schema())
    jsonschema.validate(data, committed_schema(), cls=jsonschema.Draft202012Validator)
    assert data["format"] == "ann.bundle" and data["version"] == 1
    assert data["scores"] == {"baseline": 0.25, "best": 0.75}
    assert set(data["params"]) == {name for name, _ in graph.named_parameters()}


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(version=2),
        lambda d: d.update(format="other"),
        lambda d: d.update(surprise=True),
        lambda d: d.pop("params"),
        lambda d: d["spec"].update(inputs=5),
        lambda d: d["params"]["route.router.role"].pop("trainable"),
    ],
    ids=["version-2", "format", "unknown-key", "no-params", "spec-inputs", "param-without-trainable"],
)
def test_the_schema_rejects_what_load_bundle_rejects(tmp_path: Path, edit) -> None:
    data = valid_bundle_data(tmp_path)
    edit(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, committed_schema(), cls=jsonschema.Draft202012Validator)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_bundle(path)


# round trip


@pytest.mark.parametrize(
    ("spec_path", "pattern", "frozen"),
    [
        (TICKETS, "route.*.role", ["route.router.role"]),
        (ARITHMETIC, "solve.*.role", ["solve.stepwise.role", "solve.direct.role", "solve.checker.role"]),
    ],
    ids=["tickets", "arithmetic"],
)
def test_save_then_load_gives_the_same_graph(tmp_path: Path, spec_path: Path, pattern: str, frozen: list) -> None:
    graph = graph_from_spec(load_spec(spec_path))
    trained = []
    for step, (name, param) in enumerate(graph.named_parameters(), start=1):
        if param.kind == "instructions":
            param.value = f"Trained text {step}: answer with one short line."
            param.history.append(HistoryEntry(param.value, 0.5 + step / 100, step))
            trained.append(name)
    assert trained
    assert graph.freeze(pattern) == frozen
    # The spec's freeze list covers roles and instructions; other kinds keep their flag through the params.
    graph.task.trainable = True
    path = tmp_path / "graph.json"
    graph.save(path)
    loaded = Graph.load(path)

    assert loaded.state_dict() == graph.state_dict()
    assert params_view(loaded) == params_view(graph)
    assert [n for n, p in loaded.named_parameters() if not p.trainable and p.kind == "role"] == frozen
    assert all(len(dict(loaded.named_parameters())[name].history) == 2 for name in trained)
    assert loaded.task.trainable is True
    assert loaded.choices == graph.choices
    assert loaded.fields == graph.fields
    assert (loaded.name, loaded.inputs, loaded.outputs, loaded.order) == (
        graph.name,
        graph.inputs,
        graph.outputs,
        graph.order,
    )
    for name in graph.order:
        before, after = graph.layers[name], loaded.layers[name]
        assert (after.inputs, after.outputs, after.samples, after.temperature) == (
            before.inputs,
            before.outputs,
            before.samples,
            before.temperature,
        )
    # Saving what was loaded writes the same file: nothing is lost or invented on the way.
    again = tmp_path / "again.json"
    loaded.save(again)
    assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_tickets_choices_survive_the_round_trip(tmp_path: Path) -> None:
    graph = graph_from_spec(load_spec(TICKETS))
    assert graph.choices == {"category": ["billing", "technical", "shipping"]}
    graph.save(tmp_path / "b.json")
    loaded = Graph.load(tmp_path / "b.json")
    assert loaded.choices == {"category": ["billing", "technical", "shipping"]}
    assert loaded.fields["category"] == "the team that handles the ticket"
    assert loaded.task.value == graph.task.value != ""


def test_a_bundle_keeps_the_specs_metric_model_and_training_settings(tmp_path: Path) -> None:
    spec = load_spec(TICKETS)
    path = tmp_path / "b.json"
    save_bundle(make_bundle(graph_from_spec(spec), spec=spec), path)
    kept = load_bundle(path).spec
    assert kept.metric is not None and kept.metric.name == "exact_match"
    assert kept.model.max_tokens == 48
    assert kept.train == spec.train


# freezing


def test_freeze_with_a_pattern_matching_nothing_names_the_pattern() -> None:
    graph = graph_from_spec(load_spec(TICKETS))
    with pytest.raises(GraphError, match=r"freeze: 'route\.nobody\.\*' matches no param"):
        graph.freeze("route.nobody.*")
    assert all(p.trainable for n, p in graph.named_parameters() if p.kind in ("role", "instructions"))


def test_a_spec_freeze_list_makes_that_param_untrainable(tmp_path: Path) -> None:
    text = TICKETS.read_text(encoding="utf-8") + "freeze: [route.router.role]\n"
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(text, encoding="utf-8")
    graph = graph_from_spec(load_spec(spec_path), source=spec_path)
    params = dict(graph.named_parameters())
    assert params["route.router.role"].trainable is False
    assert params["route.router.instructions"].trainable is True


def test_a_spec_freeze_pattern_matching_nothing_names_the_file_and_pattern(tmp_path: Path) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(TICKETS.read_text(encoding="utf-8") + "freeze: [route.ruoter.role]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        graph_from_spec(load_spec(spec_path), source=spec_path)
    assert str(spec_path) in str(caught.value) and "'route.ruoter.role' matches no param" in str(caught.value)


# load errors: one line naming the file


def _write_invalid_field(path: Path, tmp_path: Path) -> None:
    data = valid_bundle_data(tmp_path)
    data["spec"]["inputs"] = 5
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _write_version_2(path: Path, tmp_path: Path) -> None:
    data = valid_bundle_data(tmp_path)
    data["version"] = 2
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (lambda path, tmp: None, "cannot read bundle"),
        (lambda path, tmp: path.write_text('{\n  "format": "ann.bundle",\n  oops\n}\n'), ":3: not valid JSON"),
        (lambda path, tmp: path.write_text('{"name": "tickets", "params": {}}'), 'not an ann bundle (no "format"'),
        (lambda path, tmp: path.write_text("[1, 2]"), "not an ann bundle"),
        (_write_version_2, "bundle version 2 is not supported"),
        (_write_invalid_field, "spec.inputs: Input should be a valid list"),
    ],
    ids=["missing", "invalid-json", "no-format", "not-an-object", "version-2", "invalid-field"],
)
def test_load_errors_are_one_line_naming_the_file(tmp_path: Path, write, expected: str) -> None:
    path = tmp_path / "bundle.json"
    write(path, tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_bundle(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:"), message
    assert expected in message
    assert "\n" not in message


# no API keys


def _tickets_reply(messages: list[dict[str, str]]) -> str:
    """Forward agents answer billing once their instructions say BILLING-RULE; the optimizer's calls
    get the JSON they ask for."""
    system = messages[0]["content"]
    if CRITIC_ROLE in system:
        return json.dumps({"critique": "The team should be billing."})
    if DEBUGGER_ROLE in system:
        keys = [line.split('"')[1] for line in system.splitlines() if line.startswith('- "')]
        return json.dumps({key: "Name the billing team for payment problems." for key in keys})
    if SUMMARISER_ROLE in system:
        return json.dumps({"merged": "- name the billing team"})
    if REWRITER_ROLE in system:
        if "Purpose:\nthe role" in messages[1]["content"]:
            return json.dumps({"new_text": "a billing triage agent"})
        return json.dumps({"new_text": "Follow the BILLING-RULE: payment problems go to billing."})
    return json.dumps({"category": "billing" if "BILLING-RULE" in system else "shipping"})


def test_no_api_key_reaches_a_bundle_or_checkpoint(tmp_path: Path) -> None:
    client = scripted_client(_tickets_reply, api_key=SECRET)
    assert client.config.api_key == SECRET
    spec = load_spec(TICKETS)
    graph = graph_from_spec(spec, lm=client)
    tickets = [Example(inputs={"ticket": f"I was charged twice ({i})."}, expected={"category": "billing"}, id=f"t{i}")
               for i in range(7)]  # fmt: skip
    optimizer = ANNOptimizer(lm=client, epochs=1, batch_size=2, checkpoint=tmp_path / "checkpoint.json")
    optimizer.compile(
        graph, trainset=tickets[:2], valset=tickets[2:], metric=make_metric("exact_match", field="category")
    )
    run = optimizer.last_run
    assert (run.baseline_score, run.best_score) == (0.0, 1.0)  # the compile really ran with this client

    bundle = make_bundle(
        graph,
        spec=spec,
        scores=Scores(baseline=run.baseline_score, best=run.best_score),
        data=run.data,
        training={"optimizer_model": client.config.describe()},
    )
    save_bundle(bundle, tmp_path / "bundle.json")
    graph.save(tmp_path / "graph.json")
    for name in ("bundle.json", "graph.json", "checkpoint.json"):
        assert SECRET not in (tmp_path / name).read_text(encoding="utf-8"), name
    assert SECRET not in repr(client.config)
