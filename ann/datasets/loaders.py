"""Dataset loaders: JSON-lines and CSV files become lists of `Example`.

Every problem with a file is reported as a one-line `DatasetError` of the form
``path:line: what is wrong``, so a user can jump straight to the bad record. Files are read as
UTF-8 (a leading byte-order mark is tolerated) and may be gzip-compressed (``.jsonl.gz``).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ann.datasets.example import Example
from ann.errors import DatasetError

__all__ = ["load_csv", "load_dataset", "load_jsonl"]

_JSONL_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz")
_CSV_SUFFIXES = (".csv", ".csv.gz")


def load_jsonl(
    path: str | Path,
    *,
    inputs: list[str],
    rename: dict[str, str] | None = None,
    id_field: str | None = "id",
) -> list[Example]:
    """Load a JSON-lines file: one JSON object per line, blank lines skipped.

    Args:
        path: The file; ``.gz`` files are decompressed.
        inputs: Field names (after `rename`) that go to `Example.inputs`; every other field goes
            to `Example.expected`.
        rename: Source field name -> our field name, applied to each record first.
        id_field: Field (after `rename`) holding the record id. When the record lacks it (or it is
            null or empty) the id is ``"{file stem}:{line number}"``. The id field is not copied into
            `Example.expected`.

    Returns:
        One `Example` per record, in file order.

    Raises:
        DatasetError: The file is missing, unreadable, not UTF-8 or has no records; a line is not
            valid JSON or not an object; a record lacks an input field; two records share an id.
        ValueError: `inputs` is empty.
        TypeError: `inputs` is a single string instead of a list.

    Example:
        >>> load_jsonl("train.jsonl", inputs=["question"], rename={"q": "question"})
    """
    _check_inputs(inputs)
    builder = _RecordBuilder(path, inputs=inputs, rename=rename, id_field=id_field)
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and friends, which are not
    # line ends in JSON lines.
    for line_no, line in enumerate(_read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=_no_duplicate_keys)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}:{line_no}: invalid JSON: {e.msg} (column {e.colno})") from e
        except RecursionError as e:
            raise DatasetError(f"{path}:{line_no}: invalid JSON: nested too deeply") from e
        except ValueError as e:  # a duplicate key, or a number too long to convert
            raise DatasetError(f"{path}:{line_no}: invalid JSON: {str(e).split(';')[0]}") from e
        if not isinstance(record, dict):
            raise DatasetError(
                f"{path}:{line_no}: record is a JSON {_json_kind(record)}, expected an object "
                "(one JSON object per line)"
            )
        builder.add(record, line_no)
    return builder.finish()


def load_csv(
    path: str | Path,
    *,
    inputs: list[str],
    rename: dict[str, str] | None = None,
    id_field: str | None = "id",
) -> list[Example]:
    """Load a CSV file whose first row is the header; blank rows are skipped.

    All values are strings, as CSV has no types. Line numbers in errors and generated ids are
    the physical line where the record starts (the header is line 1).

    Args:
        path: The file; ``.gz`` files are decompressed.
        inputs: Column names (after `rename`) that go to `Example.inputs`; every other column goes
            to `Example.expected`.
        rename: Source column name -> our column name, applied first.
        id_field: Column (after `rename`) holding the record id; when absent or empty the id is
            ``"{file stem}:{line number}"``.

    Returns:
        One `Example` per row, in file order.

    Raises:
        DatasetError: The file is missing, unreadable, not UTF-8, malformed CSV or has no rows; a
            row has a different number of cells than the header; an input column is missing;
            two rows share an id.
        ValueError: `inputs` is empty.
        TypeError: `inputs` is a single string instead of a list.
    """
    _check_inputs(inputs)
    builder = _RecordBuilder(path, inputs=inputs, rename=rename, id_field=id_field)
    header: list[str] | None = None
    for line_no, row in _csv_rows(path):
        if header is None:
            header = row
            twice = [name for name, count in Counter(header).items() if count > 1]
            if twice:
                raise DatasetError(f"{path}:{line_no}: the header names column {twice[0]!r} twice")
            continue
        if len(row) != len(header):
            raise DatasetError(f"{path}:{line_no}: row has {len(row)} cells, the header has {len(header)}")
        builder.add(dict(zip(header, row, strict=True)), line_no)
    return builder.finish()


def load_dataset(
    path: str | Path,
    *,
    inputs: list[str],
    rename: dict[str, str] | None = None,
    id_field: str | None = "id",
) -> list[Example]:
    """Load a dataset file, choosing the reader by suffix.

    ``.jsonl`` and ``.json`` (JSON lines) go to `load_jsonl`, ``.csv`` to `load_csv`; each may end
    in ``.gz``. Arguments are those of `load_jsonl`.

    Raises:
        DatasetError: The suffix is not one of the above, or the reader rejects the file.
    """
    name = Path(path).name.lower()
    if name.endswith(_JSONL_SUFFIXES):
        return load_jsonl(path, inputs=inputs, rename=rename, id_field=id_field)
    if name.endswith(_CSV_SUFFIXES):
        return load_csv(path, inputs=inputs, rename=rename, id_field=id_field)
    known = ", ".join(_JSONL_SUFFIXES + _CSV_SUFFIXES)
    raise DatasetError(f"{path}: unsupported file type; expected one of {known}")


class _RecordBuilder:
    """Turns raw records into Examples, checking them the same way for every file format."""

    def __init__(
        self,
        path: str | Path,
        *,
        inputs: list[str],
        rename: dict[str, str] | None,
        id_field: str | None,
    ) -> None:
        self.path = path
        self.inputs = list(inputs)
        self.rename = dict(rename or {})
        self.id_field = id_field
        self.stem = _stem(Path(path))
        self.examples: list[Example] = []
        self.first_line_of_id: dict[str, int] = {}

    def add(self, record: dict[str, Any], line_no: int) -> None:
        record = self._apply_rename(record, line_no)
        missing = [name for name in self.inputs if name not in record]
        if missing:
            has = _field_list(record)
            raise DatasetError(f"{self.path}:{line_no}: missing input field {missing[0]!r} (record has: {has})")
        raw_id = record.get(self.id_field) if self.id_field is not None else None
        example_id = f"{self.stem}:{line_no}" if raw_id in (None, "") else str(raw_id)
        if example_id in self.first_line_of_id:
            first = self.first_line_of_id[example_id]
            raise DatasetError(f"{self.path}:{line_no}: duplicate id {example_id!r} (first used on line {first})")
        self.first_line_of_id[example_id] = line_no
        self.examples.append(
            Example(
                inputs={name: record[name] for name in self.inputs},
                expected={
                    key: value for key, value in record.items() if key not in self.inputs and key != self.id_field
                },
                id=example_id,
            )
        )

    def finish(self) -> list[Example]:
        if not self.examples:
            raise DatasetError(f"{self.path}: no records (the file is empty or only blank lines)")
        return self.examples

    def _apply_rename(self, record: dict[str, Any], line_no: int) -> dict[str, Any]:
        if not self.rename:
            return record
        out: dict[str, Any] = {}
        for key, value in record.items():
            new = self.rename.get(key, key)
            if new in out:
                has = _field_list(record)
                raise DatasetError(
                    f"{self.path}:{line_no}: renaming gives two fields named {new!r} (record has: {has})"
                )
            out[new] = value
        return out


def _field_list(record: dict[str, Any], most: int = 10) -> str:
    """A record's field names for an error line: at most ``most``, cut short, quoted if not printable."""
    names = [name if len(name) <= 40 else name[:39] + "…" for name in list(record)[:most]]
    names = [name if name.isprintable() else repr(name) for name in names]
    more = f", … ({len(record) - most} more)" if len(record) > most else ""
    return ", ".join(names) + more if names else "no fields"


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in pairs:
        if key in record:
            raise ValueError(f"the key {key!r} appears twice in one object")
        record[key] = value
    return record


def _check_inputs(inputs: list[str]) -> None:
    if isinstance(inputs, str):
        raise TypeError(f"inputs must be a list of field names, got the string {inputs!r}")
    if not inputs:
        raise ValueError("inputs must name at least one field, got an empty list")


def _stem(path: Path) -> str:
    """The file name without its data suffixes: ``train.jsonl.gz`` -> ``train``."""
    name = path.name
    for suffix in sorted(_JSONL_SUFFIXES + _CSV_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _read_text(path: str | Path) -> str:
    """Read a whole file as UTF-8, turning every failure into a one-line DatasetError."""
    p = Path(path)
    try:
        data = p.read_bytes()
        if p.name.lower().endswith(".gz"):
            data = gzip.decompress(data)
    except FileNotFoundError as e:
        raise DatasetError(f"{path}: file not found") from e
    except IsADirectoryError as e:
        raise DatasetError(f"{path}: is a directory, expected a file") from e
    except (OSError, EOFError) as e:
        # gzip.BadGzipFile is an OSError; a truncated gzip stream is an EOFError.
        raise DatasetError(f"{path}: cannot read file: {e}") from e
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        offset = e.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line_no = data[:offset].count(b"\n") + 1
        raise DatasetError(
            f"{path}:{line_no}: not valid UTF-8 (byte 0x{data[offset]:02x}); re-save the file as UTF-8"
        ) from e


def _csv_rows(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (line where the row starts, cells) for each non-blank CSV row."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""), strict=True)
    next_line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise DatasetError(f"{path}:{reader.line_num}: malformed CSV: {e}") from e
        start, next_line = next_line, reader.line_num + 1
        if any(cell.strip() for cell in row):
            yield start, row


def _json_kind(value: object) -> str:
    kinds = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)
