"""Datasets and metrics: load examples, split them, and score predictions.

Loading (`load_jsonl`, `load_csv`, `load_dataset`, `load_humaneval`) gives `Example`s;
`split` makes seeded train/val/test parts; metrics (`ExactMatch`, `NumericMatch`, `Contains`,
`TokenF1`, `CodePass`, `LLMJudge`, or `make_metric` by name) turn a prediction into a
`MetricResult`. `run_python` is the sandbox `CodePass` uses.

Each name is imported from its module on first use, so a graph build that needs one metric
does not pay for the sandbox or the loaders.
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:  # what type checkers and editors see; at run time, lazy_loader below
    from ann.datasets.code_metric import CodePass
    from ann.datasets.example import Example
    from ann.datasets.humaneval import load_humaneval
    from ann.datasets.isolation import isolation_problem, permit_unsafe_code
    from ann.datasets.judge_metric import LLMJudge, parse_judge_reply
    from ann.datasets.loaders import load_csv, load_dataset, load_jsonl
    from ann.datasets.metric import FieldMetric, Metric
    from ann.datasets.metric_result import MetricResult
    from ann.datasets.metrics import METRICS, make_metric
    from ann.datasets.normalize import answer_tokens, normalize_answer
    from ann.datasets.numeric_metric import NumericMatch, extract_last_number
    from ann.datasets.sandbox import SandboxResult, run_python
    from ann.datasets.splits import split
    from ann.datasets.text_metrics import Contains, ExactMatch, TokenF1

# Each public name, by the module that defines it: imported on first use (PEP 562).
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "code_metric": ["CodePass"],
        "example": ["Example"],
        "humaneval": ["load_humaneval"],
        "isolation": ["isolation_problem", "permit_unsafe_code"],
        "judge_metric": ["LLMJudge", "parse_judge_reply"],
        "loaders": ["load_csv", "load_dataset", "load_jsonl"],
        "metric": ["FieldMetric", "Metric"],
        "metric_result": ["MetricResult"],
        "metrics": ["METRICS", "make_metric"],
        "normalize": ["answer_tokens", "normalize_answer"],
        "numeric_metric": ["NumericMatch", "extract_last_number"],
        "sandbox": ["SandboxResult", "run_python"],
        "splits": ["split"],
        "text_metrics": ["Contains", "ExactMatch", "TokenF1"],
    },
)

__all__ = [
    "METRICS",
    "CodePass",
    "Contains",
    "ExactMatch",
    "Example",
    "FieldMetric",
    "LLMJudge",
    "Metric",
    "MetricResult",
    "NumericMatch",
    "SandboxResult",
    "TokenF1",
    "answer_tokens",
    "extract_last_number",
    "load_csv",
    "load_dataset",
    "load_humaneval",
    "load_jsonl",
    "make_metric",
    "normalize_answer",
    "parse_judge_reply",
    "isolation_problem",
    "permit_unsafe_code",
    "run_python",
    "split",
]
