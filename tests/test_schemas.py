"""The published schemas under schema/: they match the models, and every example spec is valid in the spec schema."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from ann import ConfigError, load_spec
from ann.bundle import load_bundle
from ann.cli import main
from ann.schemas import SCHEMA_FILES, schema_text

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SPECS = sorted((ROOT / "examples").glob("*/spec.yaml"))


def published(kind: str) -> dict:
    return json.loads((ROOT / "schema" / SCHEMA_FILES[kind]).read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", sorted(SCHEMA_FILES))
def test_each_committed_schema_is_what_the_models_give(kind):
    text = (ROOT / "schema" / SCHEMA_FILES[kind]).read_text(encoding="utf-8")
    assert text == schema_text(kind), "a file format changed: run `python schema/make_schema.py`"
    jsonschema.Draft202012Validator.check_schema(json.loads(text))


@pytest.mark.parametrize("path", EXAMPLE_SPECS, ids=lambda p: p.parent.name)
def test_every_example_spec_is_valid_in_the_published_spec_schema(path):
    load_spec(path)  # and the loader accepts it
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, published("spec"), cls=jsonschema.Draft202012Validator)


def test_the_loaders_shorthands_are_valid_in_the_schema(tmp_path):
    text = "name: t\ninputs: [q]\noutputs: [a]\nfields: {q: the question}\nmetric: exact_match\nmodel: openai/gpt-4o\n"
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    spec = load_spec(tmp_path / "s.yaml")
    assert spec.metric.name == "exact_match" and spec.model.name == "openai/gpt-4o"
    jsonschema.validate(yaml.safe_load(text), published("spec"), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize(
    "edit",
    [
        {"nme": "typo"},
        {"metric": 3},
        {"fields": {"q": 3}},
        {"graph": {"layers": []}},
        {"train": {"epochs": 0}},
    ],
    ids=["unknown key", "metric number", "field number", "no layers", "zero epochs"],
)
def test_the_spec_schema_rejects_what_the_loader_rejects(tmp_path, edit):
    data = {"name": "t", "inputs": ["q"], "outputs": ["a"], **edit}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_spec(tmp_path / "s.yaml")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, published("spec"), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("kind", ["spec", "bundle"])
def test_ann_schema_prints_the_published_file(capsys, kind):
    assert main(["schema", kind]) == 0
    assert capsys.readouterr().out == (ROOT / "schema" / SCHEMA_FILES[kind]).read_text(encoding="utf-8")


def test_a_bundle_from_a_newer_ann_says_so_in_one_line(tmp_path):
    (tmp_path / "b.json").write_text('{"format": "ann.bundle", "version": 2}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bundle version 2 is not supported \(this ann reads 1; a newer ann") as e:
        load_bundle(tmp_path / "b.json")
    assert "\n" not in str(e.value)
