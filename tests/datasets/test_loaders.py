"""Loaders: records become Examples, and every bad file gives a one-line `path:line: ...` error."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ann.datasets import Example, load_csv, load_dataset, load_jsonl
from ann.errors import DatasetError


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def jsonl(path: Path, records: list[object]) -> Path:
    return write_lines(path, [json.dumps(r) for r in records])


def error_of(path: Path, **kwargs: object) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset(path, **{"inputs": ["question"], **kwargs})
    message = str(info.value)
    assert "\n" not in message, "errors must be one line"
    return message


# --- what a good file gives ------------------------------------------------------------------


def test_jsonl_splits_each_record_into_inputs_expected_and_id(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "train.jsonl",
        [
            {"id": "a", "question": "2+2?", "answer": "4", "source": "x"},
            {"id": 7, "question": "3+3?", "answer": "6"},
        ],
    )
    assert load_jsonl(path, inputs=["question"]) == [
        Example(inputs={"question": "2+2?"}, expected={"answer": "4", "source": "x"}, id="a"),
        Example(inputs={"question": "3+3?"}, expected={"answer": "6"}, id="7"),
    ]


def test_rename_is_applied_before_inputs_are_picked(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "d.jsonl", [{"q": "why?", "a": "because", "id": "x"}])
    [example] = load_jsonl(path, inputs=["question"], rename={"q": "question", "a": "answer"})
    assert example.inputs == {"question": "why?"}
    assert example.expected == {"answer": "because"}


def test_missing_id_falls_back_to_stem_and_physical_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "train.jsonl", ['{"question": "a"}', "", "   ", '{"question": "b", "id": null}'])
    assert [e.id for e in load_jsonl(path, inputs=["question"])] == ["train:1", "train:4"]


def test_id_field_none_keeps_id_in_expected_and_generates_ids(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "d.jsonl", [{"question": "a", "id": "keep"}])
    [example] = load_jsonl(path, inputs=["question"], id_field=None)
    assert example.id == "d:1"
    assert example.expected == {"id": "keep"}


def test_custom_id_field_is_used_and_not_copied_to_expected(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "d.jsonl", [{"question": "a", "task_id": "T/1", "answer": "b"}])
    [example] = load_jsonl(path, inputs=["question"], id_field="task_id")
    assert (example.id, example.expected) == ("T/1", {"answer": "b"})


def test_utf8_with_bom_crlf_and_line_separator_inside_strings(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    text = json.dumps({"question": "caf\u00e9\u2028ol\u00e9"}, ensure_ascii=False)
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8") + b"\r\n")
    [example] = load_jsonl(path, inputs=["question"])
    assert example.inputs == {"question": "caf\u00e9\u2028ol\u00e9"}


def test_multiple_inputs_and_gzip(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a": 1, "b": 2, "c": 3}\n'))
    [example] = load_dataset(path, inputs=["a", "b"])
    assert (example.inputs, example.expected, example.id) == ({"a": 1, "b": 2}, {"c": 3}, "d:1")


def test_csv_rows_become_examples_with_string_values(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "qa.csv", ["id,question,answer", "q1,2+2?,4", "", "q2,3+3?,6"])
    assert load_csv(path, inputs=["question"]) == [
        Example(inputs={"question": "2+2?"}, expected={"answer": "4"}, id="q1"),
        Example(inputs={"question": "3+3?"}, expected={"answer": "6"}, id="q2"),
    ]


def test_csv_line_numbers_count_physical_lines_of_multiline_cells(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "qa.csv", ["question,answer", '"two', 'lines",x', "", "next,y"])
    assert [e.id for e in load_csv(path, inputs=["question"])] == ["qa:2", "qa:5"]
    assert load_csv(path, inputs=["question"])[0].inputs == {"question": "two\nlines"}


def test_csv_empty_id_cell_falls_back_to_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "qa.csv", ["id,question", ",a"])
    assert load_csv(path, inputs=["question"])[0].id == "qa:2"


@pytest.mark.parametrize("name", ["d.jsonl", "d.json", "d.JSONL"])
def test_load_dataset_reads_json_lines_suffixes(tmp_path: Path, name: str) -> None:
    path = jsonl(tmp_path / name, [{"question": "a"}])
    assert load_dataset(path, inputs=["question"])[0].inputs == {"question": "a"}


def test_load_dataset_reads_csv(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.csv", ["question", "a"])
    assert load_dataset(path, inputs=["question"])[0].inputs == {"question": "a"}


# --- errors name the file and the line ---------------------------------------------------------


def test_missing_input_field_names_file_line_field_and_fields_present(tmp_path: Path) -> None:
    records = [{"question": str(i), "answer": "x"} for i in range(6)] + [{"q": "?", "answer": "y"}]
    path = jsonl(tmp_path / "train.jsonl", records)
    assert error_of(path) == f"{path}:7: missing input field 'question' (record has: q, answer)"


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.jsonl", ['{"question": "a"}', "", '{"question": "b",}'])
    message = error_of(path)
    assert message.startswith(f"{path}:3: invalid JSON: ")
    assert "column 18" in message


def test_record_that_is_not_an_object(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.jsonl", ['{"question": "a"}', '["question", "b"]'])
    assert error_of(path) == f"{path}:2: record is a JSON array, expected an object (one JSON object per line)"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    assert error_of(path) == f"{path}: file not found"


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(content, encoding="utf-8")
    assert error_of(path) == f"{path}: no records (the file is empty or only blank lines)"


def test_csv_with_only_a_header_is_empty(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.csv", ["question,answer"])
    assert error_of(path) == f"{path}: no records (the file is empty or only blank lines)"


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"question": "a"}\n{"question": "caf\xe9"}\n')
    assert error_of(path) == f"{path}:2: not valid UTF-8 (byte 0xe9); re-save the file as UTF-8"


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    records = [{"question": "a", "id": "x"}, {"question": "b", "id": "y"}, {"question": "c", "id": "x"}]
    path = jsonl(tmp_path / "d.jsonl", records)
    assert error_of(path) == f"{path}:3: duplicate id 'x' (first used on line 1)"


def test_rename_onto_an_existing_field(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "d.jsonl", [{"q": "a", "question": "b"}])
    message = error_of(path, rename={"q": "question"})
    assert message == f"{path}:1: renaming gives two fields named 'question' (record has: q, question)"


def test_csv_missing_column_names_header_fields(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.csv", ["q,answer", "a,b"])
    assert error_of(path) == f"{path}:2: missing input field 'question' (record has: q, answer)"


def test_csv_row_with_wrong_cell_count(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.csv", ["question,answer", "a,b", "c,d,e"])
    assert error_of(path) == f"{path}:3: row has 3 cells, the header has 2"


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "d.txt", ["question"])
    message = error_of(path)
    assert message.startswith(f"{path}: unsupported file type; expected one of .jsonl")


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(b"not gzip at all")
    assert error_of(path).startswith(f"{path}: cannot read file: ")


def test_dataset_error_is_an_ann_error() -> None:
    from ann.errors import AnnError

    assert issubclass(DatasetError, AnnError)


# --- argument checks ---------------------------------------------------------------------------


def test_inputs_given_as_a_string_is_a_type_error(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "d.jsonl", [{"question": "a"}])
    with pytest.raises(TypeError, match="'question'"):
        load_jsonl(path, inputs="question")  # type: ignore[arg-type]


def test_empty_inputs_is_a_value_error(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "d.jsonl", [{"question": "a"}])
    with pytest.raises(ValueError, match="at least one field"):
        load_jsonl(path, inputs=[])
