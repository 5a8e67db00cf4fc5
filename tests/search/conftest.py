"""A small task whose best search choice is known: the loopback model answers right only at temperature 0."""

import json
from pathlib import Path
from typing import Any

import pytest

QUESTIONS = {"2+2": "4", "3+5": "8", "7-4": "3"}

SPEC = """\
name: sums
inputs: [question]
outputs: [answer]
metric: exact_match
graph:
  layers:
    - name: solve
      inputs: [question]
      outputs: [answer]
      aggregator: vote
      agents:
        - name: solver
          instructions: Answer with the number only.
search:
  layers:
    solve:
      temperature: [0.0, 1.0]
      samples: [1, 3]
"""


def answer_at_temperature_zero(request: dict[str, Any]) -> str:
    """The right sum at temperature 0; a wrong one otherwise (so vote's warm extra samples outvote it)."""
    text = request["messages"][-1]["content"]
    question = next(q for q in QUESTIONS if q in text)
    return QUESTIONS[question] if not request.get("temperature") else "0"


@pytest.fixture
def task(tmp_path: Path) -> tuple[Path, Path]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    val = tmp_path / "val.jsonl"
    val.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in QUESTIONS.items()))
    return spec, val


@pytest.fixture(autouse=True)
def no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANN_MODEL", raising=False)
    monkeypatch.delenv("ANN_API_BASE", raising=False)


def model_flags(api_base: str) -> list[str]:
    return ["--model", "openai/x", "--api-base", api_base, "--no-cache", "--retries", "0", "--timeout", "10"]
