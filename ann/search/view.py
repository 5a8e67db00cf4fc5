"""The live table `ann search` shows: every trial of the study, the one running here, the best."""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text


class SearchView:
    """Rows of the study's trials (all workers'), refreshed after each trial, plus this worker's phase."""

    def __init__(self, name: str, trials: int, with_cost: bool) -> None:
        self.name = name
        self.trials = trials
        self.with_cost = with_cost
        self.rows: list[dict[str, Any]] = []
        self.current = ""
        self.started = time.monotonic()

    def event(self, kind: str, info: dict[str, Any]) -> None:
        if kind == "trial":
            self.current = f"trial {info['number']}: {_params(info['params'])}"
        elif kind == "phase":
            self.current = f"trial {info['number']}: {info['phase']}"

    def __rich__(self) -> Group:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("#", "state", "score", *(["calls/ex"] if self.with_cost else []), "s", "choices"):
            table.add_column(column, justify="right" if column in ("#", "score", "calls/ex", "s") else "left")
        best = max((r["score"] for r in self.rows if r["state"] == "complete"), default=None)
        for row in self.rows[-15:]:
            score = "—" if row["score"] is None else f"{row['score']:.3f}"
            style = "bold green" if row["score"] is not None and row["score"] == best else None
            cost = [f"{row['calls_per_example']:.1f}" if row["calls_per_example"] is not None else "—"]
            table.add_row(str(row["number"]), row["state"], score, *(cost if self.with_cost else []),
                          "—" if row["seconds"] is None else f"{row['seconds']:.0f}",
                          escape(row["note"] or _params(row["params"])), style=style)  # fmt: skip
        finished = sum(r["state"] in ("complete", "pruned") for r in self.rows)
        elapsed = time.monotonic() - self.started
        head = f"ann search — {self.name}: {finished} of {self.trials} trials finished, {elapsed:.0f} s"
        parts: list[Any] = [Text(head, style="bold"), table]
        if self.current:
            parts.append(Text(self.current))
        return Group(*parts)


def _params(params: dict[str, Any]) -> str:
    return json.dumps(params, separators=(", ", "="))[1:-1].replace('"', "")
