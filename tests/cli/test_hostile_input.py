"""Hostile input through the real `ann` command, with Hypothesis drawing the files.

Every malformed spec (YAML), dataset (JSONL, CSV) or bundle must end the command with exit code 2
and one line on stderr that names the file and the field or line — never a traceback, an
"internal error" (exit 1), a hang, or code run on the user's behalf. No test here reaches a model:
the model flags point at a closed port, so a file wrongly accepted fails the test with exit 1.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ann.build import graph_from_spec
from ann.bundle import make_bundle, save_bundle
from ann.cli import main
from ann.datasets import load_dataset
from ann.errors import DatasetError
from ann.spec import AgentSpec, GraphSpec, LayerSpec, MetricSpec, ModelSpec, Spec, TrainSpec

HOSTILE = settings(
    max_examples=30,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

BASE_SPEC: dict[str, Any] = {
    "name": "hostile",
    "description": "Answer a question.",
    "inputs": ["question"],
    "outputs": ["answer"],
    "fields": {"question": "a question", "answer": "the answer"},
    "metric": "exact_match",
    "model": {"temperature": 0.0, "max_tokens": 64},
    "train": {"epochs": 1, "batch_size": 2},
    "graph": {
        "layers": [
            {"name": "extract", "inputs": ["question"], "outputs": ["facts"],
             "agents": [{"name": "reader", "role": "a reader", "instructions": "List the facts."}]},
            {"name": "solve", "inputs": ["question", "facts"], "outputs": ["answer"], "aggregator": "vote",
             "agents": [{"name": "a", "role": "a solver", "instructions": "Solve it."}, {"name": "b"}]},
        ]
    },
}  # fmt: skip

FIELD_NAMES = {name for model in (Spec, ModelSpec, TrainSpec, MetricSpec, GraphSpec, LayerSpec, AgentSpec)
               for name in model.model_fields}  # fmt: skip

# Commands that read a spec or bundle and stop before any model call when it is malformed.
READERS = [["show"], ["show", "--json"], ["tools", "refine", "--embed-model", "openai/embed", "--out", "{out}"]]

# Where a model (pydantic) sits in a spec, so an unknown key there must be refused.
MODEL_PATHS: list[tuple[Any, ...]] = [
    (), ("model",), ("train",), ("graph",), ("graph", "layers", 0), ("graph", "layers", 1),
    ("graph", "layers", 0, "agents", 0), ("graph", "layers", 1, "agents", 1),
]  # fmt: skip


@pytest.fixture(autouse=True)
def no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANN_MODEL", raising=False)
    monkeypatch.delenv("ANN_API_BASE", raising=False)


@pytest.fixture(scope="module")
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def no_model(port: int) -> list[str]:
    """Model flags that make any model call fail at once (exit 1), so a refusal must come first."""
    return ["--model", "openai/x", "--api-base", f"http://127.0.0.1:{port}/v1", "--no-cache", "--retries", "0"]


def cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    code = main([str(arg) for arg in argv])
    _, err = capsys.readouterr()
    return code, err


def refused(code: int, err: str, path: Path, *names: str) -> str:
    """The one stderr line of a command that refused its input with exit 2, naming ``path`` and ``names``."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    line = lines[0]
    assert code == 2, line
    assert line.startswith("error: "), line
    assert "internal error" not in line, line
    assert str(path) in line, line
    for name in names:
        assert name in line, (name, line)
    return line


def accepted_or_refused(code: int, err: str, path: Path) -> None:
    """A value drawn at random may be valid; if not, it must be refused properly."""
    if code != 0:
        refused(code, err, path)


def reading(reader: list[str], path: Path, tmp_path: Path) -> list[object]:
    """The command line of ``reader`` on ``path``."""
    return [*[part.format(out=tmp_path / "out") for part in reader], path]


def get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in path)


def all_paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key or index path into ``data`` (not the root)."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    paths = []
    for key, value in items:
        paths.append((*prefix, key))
        paths.extend(all_paths(value, (*prefix, key)))
    return paths


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def texts(**kwargs: Any) -> st.SearchStrategy[str]:
    """Any text that can be written as UTF-8 (no lone surrogates)."""
    return st.text(alphabet=st.characters(blacklist_categories=("Cs",)), **kwargs)


# Values of every JSON/YAML type, including huge and non-finite ones.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    texts(max_size=30),
    st.text(alphabet="ab\n\t\u2028\x85\"'{}[]:#&*!|>-%@`", max_size=30),
    st.just("x" * 200_000),
)
values = st.recursive(
    scalars, lambda children: st.lists(children, max_size=4) | st.dictionaries(texts(max_size=8), children, max_size=4),
    max_leaves=12,
)  # fmt: skip
not_a_string = st.one_of(st.integers(), st.floats(), st.booleans(), st.lists(st.integers(), max_size=3),
                         st.dictionaries(texts(max_size=5), st.integers(), max_size=3))  # fmt: skip
not_a_list = st.one_of(st.integers(), st.floats(), st.booleans(), texts(max_size=10),
                       st.dictionaries(texts(max_size=5), st.integers(), min_size=1, max_size=3))  # fmt: skip
not_a_count = st.one_of(st.integers(max_value=0), st.from_regex(r"\A[a-z]{1,8}\Z"), st.lists(st.integers(), max_size=2),
                        st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f)),
                        st.sampled_from([float("nan"), float("inf")]))  # fmt: skip
not_a_temperature = st.one_of(st.floats(max_value=-1e-9), st.sampled_from([float("nan"), float("inf")]),
                              st.from_regex(r"\A[a-z]{1,8}\Z"),
                              st.lists(st.floats(), min_size=1, max_size=2))  # fmt: skip

# (field path, values that can never be valid there)
WRONG_TYPES: list[tuple[tuple[Any, ...], st.SearchStrategy[Any]]] = [
    (("name",), not_a_string | st.none()),
    (("description",), not_a_string),
    (("inputs",), not_a_list | st.just([]) | st.lists(not_a_string, min_size=1, max_size=3)),
    (("outputs",), not_a_list | st.just([]) | st.lists(st.integers(), min_size=1, max_size=3)),
    (("model", "max_tokens"), not_a_count),
    (("model", "temperature"), not_a_temperature),
    (("train", "epochs"), not_a_count),
    (("train", "lr"), st.one_of(st.floats(max_value=0), st.floats(min_value=1.0001), st.just(float("nan")))),
    (("graph", "layers"), not_a_list | st.just([])),
    (("graph", "layers", 0, "name"), not_a_string | st.none()),
    (("graph", "layers", 1, "agents"), not_a_list | st.just([])),
    (("graph", "layers", 1, "samples"), not_a_count),
    (("graph", "layers", 1, "temperature"), not_a_temperature),
    (("graph", "layers", 0, "agents", 0, "instructions"), not_a_string | st.none()),
    (("graph", "layers", 0, "agents", 0, "tools"), not_a_list),
]


# Specs


@HOSTILE
@given(where=st.sampled_from(all_paths(BASE_SPEC)), value=values)
def test_any_value_anywhere_in_a_spec_is_read_or_refused_in_one_line(capsys, tmp_path, where, value) -> None:
    data = copy.deepcopy(BASE_SPEC)
    get(data, where[:-1])[where[-1]] = value
    path = write_yaml(tmp_path / "spec.yaml", data)
    accepted_or_refused(*cli(capsys, "show", path), path)


@HOSTILE
@given(case=st.sampled_from(WRONG_TYPES).flatmap(lambda case: st.tuples(st.just(case[0]), case[1])))
def test_a_wrong_type_names_the_file_and_the_field(capsys, tmp_path, case) -> None:
    where, value = case
    data = copy.deepcopy(BASE_SPEC)
    get(data, where[:-1])[where[-1]] = value
    path = write_yaml(tmp_path / "spec.yaml", data)
    refused(*cli(capsys, "show", path), path, f"{path}: {dotted(where)}")


@HOSTILE
@given(where=st.sampled_from(MODEL_PATHS), key=texts(min_size=1, max_size=80), value=values)
def test_an_unknown_key_names_the_file_and_where_it_is(capsys, tmp_path, where, key, value) -> None:
    data = copy.deepcopy(BASE_SPEC)
    assume(key not in FIELD_NAMES)
    get(data, where)[key] = value
    path = write_yaml(tmp_path / "spec.yaml", data)
    line = refused(*cli(capsys, "show", path), path, "Extra inputs are not permitted")
    assert f"{path}: {dotted(where)}" in line


@HOSTILE
@given(size=st.integers(min_value=1, max_value=5), back=st.data())
def test_a_cycle_of_layers_is_refused(capsys, tmp_path, size, back) -> None:
    # Layer i reads field i and writes field i+1; the last one writes field 0, which the first reads.
    layers = [{"name": f"l{i}", "inputs": ["question", f"f{i}"], "outputs": [f"f{(i + 1) % size}"],
               "agents": [{"name": "a"}]} for i in range(size)]  # fmt: skip
    layers[back.draw(st.integers(0, size - 1))]["outputs"].append("answer")
    data = {**copy.deepcopy(BASE_SPEC), "graph": {"layers": layers}}
    path = write_yaml(tmp_path / "spec.yaml", data)
    refused(*cli(capsys, "show", path), path, "cycle")


@HOSTILE
@given(
    kind=st.sampled_from(["layer", "agent", "input", "output", "layer input", "tool"]),
    name=st.from_regex(r"\A[a-z]\w{0,10}\Z"),
)
def test_a_duplicate_name_is_refused(capsys, tmp_path, kind, name) -> None:
    data = copy.deepcopy(BASE_SPEC)
    layers = data["graph"]["layers"]
    if kind == "layer":
        layers[0]["name"] = layers[1]["name"] = name
    elif kind == "agent":
        layers[1]["agents"][0]["name"] = layers[1]["agents"][1]["name"] = name
    elif kind == "input":
        data["inputs"] = [name, name]
    elif kind == "output":
        data["outputs"] = ["answer", "answer"]
        name = "answer"
    elif kind == "layer input":
        layers[1]["inputs"] = ["question", name, name]
    else:
        layers[0]["agents"][0]["tools"] = [name, name]
        data["tools"] = "tools.py"
    path = write_yaml(tmp_path / "spec.yaml", data)
    refused(*cli(capsys, "show", path), path, name)


@HOSTILE
@given(
    tag=st.sampled_from(["!!python/object/apply:os.system", "!!python/object/new:os.system",
                         "!!python/object/apply:subprocess.call", "!!python/name:os.system",
                         "!!python/module:os", "!!python/object:builtins.dict", "!ann/exec", "!!binary"]),
    field=st.sampled_from(["name", "description", "metric", "evil"]),
    data=st.data(),
)  # fmt: skip
def test_a_yaml_tag_that_constructs_an_object_runs_nothing(capsys, tmp_path, tag, field, data) -> None:
    marker = tmp_path / "ran"
    lines = yaml.safe_dump({k: v for k, v in BASE_SPEC.items() if k != field}, sort_keys=False).splitlines()
    at = data.draw(st.sampled_from([i for i, line in enumerate(lines + [""]) if not line.startswith((" ", "-"))]))
    lines.insert(at, f"{field}: {tag} [touch, {marker}]")
    path = tmp_path / "spec.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused(*cli(capsys, "show", path), path, f"{path}:{at + 1}:")
    assert not marker.exists()


@HOSTILE
@given(width=st.integers(4, 12), kind=st.sampled_from(["laughs", "recursive"]), field=st.sampled_from(["x", "y"]))
def test_a_yaml_bomb_or_a_recursive_alias_is_refused_at_once(capsys, tmp_path, width, kind, field) -> None:
    # Metric options take any value, so only the size check stands between these and `show --json`.
    if kind == "laughs":  # width ** depth > 200,000 values once expanded
        depth = next(d for d in range(1, 20) if width**d > 200_000)
        anchors = ["x0: &x0 [" + ", ".join(["lol"] * width) + "]"]
        anchors += [f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * width) + "]" for i in range(1, depth)]
        bomb = f"*x{depth - 1}"
    else:
        anchors, bomb = ["x0: &x0 [a, *x0]"], "*x0"
    options = "\n".join(f"    {anchor}" for anchor in anchors) + f"\n    {field}: {bomb}"
    body = yaml.safe_dump({k: v for k, v in BASE_SPEC.items() if k != "metric"}, sort_keys=False)
    path = tmp_path / "spec.yaml"
    path.write_text(f"metric:\n  name: exact_match\n  options:\n{options}\n{body}", encoding="utf-8")
    refused(*cli(capsys, "show", "--json", path), path, "too large")


@HOSTILE
@given(depth=st.integers(65, 20_000), bracket=st.sampled_from(["[", "{a: "]), reader=st.sampled_from(READERS))
def test_deep_nesting_is_refused(capsys, tmp_path, depth, bracket, reader) -> None:
    closing = "]" if bracket == "[" else "}"
    body = yaml.safe_dump({k: v for k, v in BASE_SPEC.items() if k != "metric"})
    nested = f"{bracket * depth}1{closing * depth}"
    path = tmp_path / "spec.yaml"
    path.write_text(f"metric: {{name: exact_match, options: {{x: {nested}}}}}\n{body}", encoding="utf-8")
    line = refused(*cli(capsys, *reading(reader, path, tmp_path)), path)
    assert "nest" in line


@HOSTILE
@given(
    value=st.one_of(st.integers(4301, 30_000).map(lambda n: "9" * n), st.sampled_from(["2024-13-45", "2023-02-30"])),
    field=st.sampled_from(["name", "description"]),
)  # fmt: skip
def test_a_value_python_cannot_build_names_its_line(capsys, tmp_path, value, field) -> None:
    text = yaml.safe_dump(BASE_SPEC, sort_keys=False)
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(f"{field}:"))
    lines = text.splitlines()
    lines[line_no - 1] = f"{field}: {value}"
    path = tmp_path / "spec.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused(*cli(capsys, "show", path), path, f"{path}:{line_no}:")


@HOSTILE
@given(data=st.data())
def test_a_duplicate_key_names_its_line(capsys, tmp_path, data) -> None:
    text = yaml.safe_dump(BASE_SPEC, sort_keys=False)
    lines = text.splitlines()
    # Any "key:" line, written again right after itself (block mappings only, not flow ones).
    # Any "key: ..." line of a block mapping gets the same key, same indent, on the line before it,
    # so the original line becomes the duplicate.
    keyed = [i for i, line in enumerate(lines) if ":" in line and line.split(":")[0].strip().isidentifier()]
    i = data.draw(st.sampled_from(keyed))
    indent = len(lines[i]) - len(lines[i].lstrip())
    lines.insert(i, " " * indent + lines[i].split(":")[0].strip() + ": again")
    path = tmp_path / "spec.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused(*cli(capsys, "show", path), path, f"{path}:{i + 2}:", "duplicate key")


@HOSTILE
@given(data=st.data(), bad=st.sampled_from([b"\xff", b"\xfe\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"]))
def test_a_byte_that_is_not_utf8_names_its_line(capsys, tmp_path, data, bad) -> None:
    lines = yaml.safe_dump(BASE_SPEC, sort_keys=False, allow_unicode=True).encode().split(b"\n")
    i = data.draw(st.integers(0, len(lines) - 2))
    at = data.draw(st.integers(0, len(lines[i])))
    lines[i] = lines[i][:at] + bad + lines[i][at:]
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"\n".join(lines))
    refused(*cli(capsys, "show", path), path, f"{path}:{i + 1}:", "UTF-8")


@HOSTILE
@given(content=st.one_of(st.binary(max_size=200), st.sampled_from([b"", b"\n\n", b"   ", b"---\n", b"~", b"null", b"[]",
                                                                   b"\xef\xbb\xbf", b"\x00", b"'", b"{"])),
       suffix=st.sampled_from([".yaml", ".yml", ".json"]), reader=st.sampled_from(READERS))  # fmt: skip
def test_random_bytes_as_a_spec_or_bundle_are_refused(capsys, tmp_path, content, suffix, reader) -> None:
    path = tmp_path / f"spec{suffix}"
    path.write_bytes(content)
    refused(*cli(capsys, *reading(reader, path, tmp_path)), path)


@HOSTILE
@given(cut=st.integers(0, 10_000))
def test_a_truncated_spec_is_read_or_refused(capsys, tmp_path, cut) -> None:
    text = yaml.safe_dump(BASE_SPEC, sort_keys=False)
    path = tmp_path / "spec.yaml"
    path.write_text(text[: cut % len(text)], encoding="utf-8")
    accepted_or_refused(*cli(capsys, "show", path), path)


# Datasets

BAD_RECORDS = ["array", "string", "number", "null", "missing input", "truncated", "huge number", "deep",
               "duplicate key", "duplicate id", "not utf-8"]  # fmt: skip
records = st.lists(
    st.fixed_dictionaries({"question": texts(max_size=40), "answer": texts(max_size=10)},
                          optional={"note": values}),
    min_size=1, max_size=6,
)  # fmt: skip


def hostile_line(kind: str, first_id: str) -> bytes:
    return {
        "array": b'["question", "answer"]',
        "string": b'"question"',
        "number": b"1e999",
        "null": b"null",
        "missing input": b'{"q": "what?", "answer": "1"}',
        "truncated": b'{"question": "what?", "answer": "1',
        "huge number": b'{"question": ' + b"7" * 5000 + b"}",
        "deep": b'{"question": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "duplicate key": b'{"question": "a", "answer": "1", "question": "b"}',
        "duplicate id": json.dumps({"id": first_id, "question": "again", "answer": "1"}).encode(),
        "not utf-8": b'{"question": "caf\xe9", "answer": "1"}',
    }[kind]


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "spec.yaml", BASE_SPEC)


@HOSTILE
@given(rows=records, kind=st.sampled_from(BAD_RECORDS), data=st.data(), ascii_only=st.booleans())
def test_a_bad_jsonl_record_names_its_line(
    capsys, tmp_path, spec_file, closed_port, rows, kind, data, ascii_only
) -> None:
    lines = [json.dumps({"id": f"r{i}", **row}, ensure_ascii=ascii_only).encode() for i, row in enumerate(rows)]
    at = data.draw(st.integers(1 if kind == "duplicate id" else 0, len(lines)))
    lines.insert(at, hostile_line(kind, "r0"))
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    refused(*cli(capsys, "eval", spec_file, "--data", path, *no_model(closed_port)), path, f"{path}:{at + 1}:")


CSV_FAULTS = ["too many cells", "too few cells", "duplicate column", "no input column", "not utf-8", "open quote",
              "huge cell", "duplicate id"]  # fmt: skip
cell = st.text(alphabet=st.characters(blacklist_characters="\r\x00", blacklist_categories=("Cs",)), max_size=20)


@HOSTILE
@given(rows=st.lists(st.tuples(cell, cell), min_size=1, max_size=6), fault=st.sampled_from(CSV_FAULTS), data=st.data())
def test_a_bad_csv_row_names_its_line(capsys, tmp_path, spec_file, closed_port, rows, fault, data) -> None:
    header = ["id", "question", "answer"]
    if fault == "duplicate column":
        header = ["id", "question", "question"]
    elif fault == "no input column":
        header = ["id", "query", "answer"]
    table = [[f"r{i}", f"q{question}", answer] for i, (question, answer) in enumerate(rows)]
    at = data.draw(st.integers(1 if fault == "duplicate id" else 0, len(table)))
    bad = {"too many cells": ["x", "q", "a", "extra"], "too few cells": ["x", "q"], "duplicate id": ["r0", "q", "a"],
           "huge cell": ["x", "q" + "a" * 200_000, "a"]}.get(fault, ["x", "q", "a"])  # fmt: skip
    table.insert(at, bad)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    starts = []
    for row in table:
        starts.append(buffer.getvalue().count("\n") + 1)
        writer.writerow(row)
    raw = buffer.getvalue().encode()
    line = {"duplicate column": 1, "no input column": 2}.get(fault, starts[at])
    if fault == "not utf-8":
        offset = len("\n".join(buffer.getvalue().split("\n")[: starts[at] - 1]).encode()) + 1
        raw = raw[:offset] + b"\xff" + raw[offset:]
    if fault == "open quote":
        raw = raw.rstrip(b"\n") + b'\n"never closed\n'
        line = raw.count(b"\n")
    path = tmp_path / "data.csv"
    path.write_bytes(raw)
    refused(*cli(capsys, "eval", spec_file, "--data", path, *no_model(closed_port)), path, f"{path}:{line}:")


@HOSTILE
@given(content=st.binary(max_size=300), suffix=st.sampled_from([".jsonl", ".csv", ".jsonl.gz", ".csv.gz", ".txt"]))
def test_random_bytes_as_a_dataset_are_refused(capsys, tmp_path, spec_file, closed_port, content, suffix) -> None:
    path = tmp_path / f"data{suffix}"
    path.write_bytes(content)
    try:
        load_dataset(path, inputs=["question"])
        assume(False)  # by chance a valid dataset: nothing to refuse
    except DatasetError:
        pass
    refused(*cli(capsys, "eval", spec_file, "--data", path, *no_model(closed_port)), path)


# Bundles


@pytest.fixture(scope="module")
def bundle_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("bundle") / "bundle.json"
    spec = Spec.model_validate(BASE_SPEC)
    save_bundle(make_bundle(graph_from_spec(spec), spec=spec), path)
    return json.loads(path.read_text(encoding="utf-8"))


def write_bundle(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def test_the_base_bundle_is_valid(capsys, tmp_path, bundle_data) -> None:
    code, err = cli(capsys, "show", write_bundle(tmp_path / "bundle.json", bundle_data))
    assert code == 0, err


@HOSTILE
@given(data=st.data(), value=values)
def test_any_value_anywhere_in_a_bundle_is_read_or_refused_in_one_line(
    capsys, tmp_path, bundle_data, data, value
) -> None:
    where = data.draw(st.sampled_from(all_paths(bundle_data)))
    tampered = copy.deepcopy(bundle_data)
    get(tampered, where[:-1])[where[-1]] = value
    path = write_bundle(tmp_path / "bundle.json", tampered)
    accepted_or_refused(*cli(capsys, "show", path), path)


@HOSTILE
@given(data=st.data(), key=texts(min_size=1, max_size=40), value=values)
def test_an_unknown_key_in_a_bundle_names_where_it_is(capsys, tmp_path, bundle_data, data, key, value) -> None:
    name = next(iter(bundle_data["params"]))
    where = data.draw(st.sampled_from([(), ("scores",), ("spec",), ("spec", "graph", "layers", 0), ("params", name)]))
    assume(key not in get(bundle_data, where))
    tampered = copy.deepcopy(bundle_data)
    get(tampered, where)[key] = value
    path = write_bundle(tmp_path / "bundle.json", tampered)
    line = refused(*cli(capsys, "show", path), path, "Extra inputs are not permitted")
    assert f"{path}: {dotted(where)}" in line


@HOSTILE
@given(
    fault=st.sampled_from(["format", "version", "params", "spec"]),
    value=st.one_of(st.none(), st.integers(), texts(max_size=10), st.lists(st.integers(), max_size=2)),
)
def test_a_bundle_with_a_wrong_header_or_section_is_refused(capsys, tmp_path, bundle_data, fault, value) -> None:
    assume(not (fault == "format" and value == "ann.bundle") and not (fault == "version" and value == 1))
    tampered = {**bundle_data, fault: value}
    path = write_bundle(tmp_path / "bundle.json", tampered)
    line = refused(*cli(capsys, "show", path), path)
    if fault in ("params", "spec"):
        assert f"{path}: {fault}" in line


@HOSTILE
@given(cut=st.integers(1, 100_000), data=st.data())
def test_a_truncated_or_corrupted_bundle_names_the_file(capsys, tmp_path, bundle_data, cut, data) -> None:
    text = json.dumps(bundle_data, indent=2).encode()
    fault = data.draw(st.sampled_from(["truncated", "not utf-8", "huge number", "deep"]))
    depth = 65 + cut % 3000
    if fault == "truncated":
        raw = text[: cut % (len(text) - 1)]  # always before the closing brace
    elif fault == "not utf-8":
        at = cut % len(text)
        raw = text[:at] + b"\xff" + text[at:]
    elif fault == "huge number":
        raw = text.replace(b'"version": 1', b'"version": ' + b"1" * (4301 + cut), 1)
    else:
        # metric options take any value, so only the depth check stands before `show --json`
        raw = text.replace(b'"options": {}', b'"options": {"x": ' + b"[" * depth + b"]" * depth + b"}", 1)
    path = tmp_path / "bundle.json"
    path.write_bytes(raw)
    line = refused(*cli(capsys, "show", "--json", path), path)
    if fault == "deep":
        assert "nest" in line
    if fault == "not utf-8":
        line_no = text[: cut % len(text)].count(b"\n") + 1
        assert f"{path}:{line_no}:" in line


# Output and data paths


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (["run", "{spec}", "--input", '{{"question": "q"}}', "--out", "{dir}"], "{dir}"),
        (["run", "{spec}", "--input", '{{"question": "q"}}', "--traces", "{dir}"], "{dir}"),
        (["run", "{spec}", "--input", '{{"question": "q"}}', "--out", "{file}/out.jsonl"], "{file}"),
        (["eval", "{spec}", "--data", "{data}", "--traces", "{dir}"], "{dir}"),
        (["compile", "{spec}", "--train", "{data}", "--val", "{data}", "--out", "{file}"], "{file}"),
        (["compile", "{spec}", "--train", "{data}", "--val", "{data}", "--out", "{file}/run"], "{file}"),
        (["plan", "{spec}", "--write", "{dir}"], "{dir}"),
        (["tools", "refine", "{spec}", "--out", "{file}"], "{file}"),
    ],
    ids=[
        "run --out dir",
        "run --traces dir",
        "run --out under a file",
        "eval --traces dir",
        "compile --out file",
        "compile --out under a file",
        "plan --write dir",
        "tools refine --out file",
    ],  # fmt: skip
)
def test_an_output_path_that_cannot_be_written_is_refused_before_any_model_call(
    capsys, tmp_path, spec_file, closed_port, command, target
) -> None:
    folder, file, data = tmp_path / "a folder", tmp_path / "a file", tmp_path / "data.jsonl"
    folder.mkdir()
    file.write_text("keep me\n", encoding="utf-8")
    data.write_text('{"question": "q", "answer": "a"}\n', encoding="utf-8")
    names = {"spec": spec_file, "dir": folder, "file": file, "data": data}
    argv = [part.format(**names) for part in command]
    refused(*cli(capsys, *argv, *no_model(closed_port)), Path(target.format(**names)))
    assert file.read_text(encoding="utf-8") == "keep me\n"
    assert list(folder.iterdir()) == []


EVIL_TOOLS = '''\
from pathlib import Path

Path(__file__).with_name("imported").touch()


def reserve(item: str) -> str:
    """Reserve an item."""
    return item
'''


@HOSTILE
@given(
    form=st.sampled_from(["../outside/evil.py", "./../outside/evil.py", "sub/../../outside/evil.py", "{absolute}",
                          "link.py", "sub/link.py"]),
    command=st.sampled_from(["run", "eval", "compile"]),
    source=st.sampled_from(["spec", "bundle"]),
)  # fmt: skip
def test_a_tools_path_in_a_spec_or_bundle_never_leads_out_of_its_folder(
    capsys, tmp_path, closed_port, form, command, source
) -> None:
    outside, project = tmp_path / "outside", tmp_path / "project"
    (project / "sub").mkdir(parents=True, exist_ok=True)
    outside.mkdir(exist_ok=True)
    (outside / "evil.py").write_text(EVIL_TOOLS, encoding="utf-8")
    (outside / "imported").unlink(missing_ok=True)
    for link in (project / "link.py", project / "sub" / "link.py"):
        link.unlink(missing_ok=True)
        link.symlink_to(outside / "evil.py")
    data = {**copy.deepcopy(BASE_SPEC), "tools": form.format(absolute=outside / "evil.py")}
    data["graph"]["layers"][0]["agents"][0]["tools"] = ["reserve"]
    path = write_yaml(project / "spec.yaml", data)
    if source == "bundle":
        bundle = {"format": "ann.bundle", "version": 1, "ann_version": "0", "spec": data, "params": {}}
        path = write_bundle(project / "bundle.json", bundle)
    rows = project / "data.jsonl"
    rows.write_text('{"question": "q", "answer": "a"}\n', encoding="utf-8")
    argv = {
        "run": ["run", path, "--input", '{"question": "q"}'],
        "eval": ["eval", path, "--data", rows],
        "compile": ["compile", path, "--train", rows, "--val", rows, "--out", tmp_path / "run"],
    }[command]
    refused(*cli(capsys, *argv, *no_model(closed_port)), path, "tools")
    assert not (outside / "imported").exists()


@HOSTILE
@given(
    content=st.one_of(
        st.binary(max_size=200),
        st.integers(65, 20_000).map(lambda depth: b"operations: " + b"[" * depth + b"]" * depth),
        st.sampled_from([b"", b"operations: []", b"operations: [{name: 1}]", b"openapi: 3.0.0\npaths: 7",
                         b"operations: !!python/object/apply:os.system [touch]", b"operations: [\xff]"]),
    ),
    suffix=st.sampled_from([".yaml", ".json"]),
)  # fmt: skip
def test_a_malformed_api_description_a_spec_names_is_refused(capsys, tmp_path, closed_port, content, suffix) -> None:
    api = tmp_path / f"api{suffix}"
    api.write_bytes(content)
    data = {**copy.deepcopy(BASE_SPEC), "tools": api.name}
    data["graph"]["layers"][0]["agents"][0]["tools"] = ["lookup"]
    spec = write_yaml(tmp_path / "spec.yaml", data)
    refused(*cli(capsys, "run", spec, "--input", '{"question": "q"}', *no_model(closed_port)), api)


def test_an_error_line_prints_emoji_codes_as_text(capsys, tmp_path) -> None:
    # rich turns ":100:" into an emoji by default, which once ate "bundle.json:100:" in a message
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"# filler\n" * 99 + b"name: \xff\n")
    refused(*cli(capsys, "show", path), path, f"{path}:100:", "UTF-8")
