"""CodePass: run a HumanEval-style completion against the problem's tests in the sandbox."""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping
from typing import Any

from ann.datasets.example import Example
from ann.datasets.metric_result import MetricResult
from ann.datasets.sandbox import SandboxResult, run_python
from ann.errors import ConfigError

__all__ = ["CodePass", "build_program", "build_solution", "extract_code", "failure_feedback"]

_FENCE = re.compile(r"```[ \t]*(?P<lang>[\w+-]*)[^\n]*\n(?P<code>.*?)(?:```|\Z)", re.DOTALL)
_PYTHON_LANGS = frozenset({"", "python", "python3", "py"})
_FEEDBACK_LINES = 6


def extract_code(text: str, entry_point: str | None = None) -> str:
    """The code in a model's reply: a fenced block if there is one, else the whole text.

    Among several blocks, Python (or untagged) blocks are preferred, and among those the first
    that defines `entry_point`. An unclosed fence (a cut-off reply) runs to the end of the text.

    Args:
        text: The reply.
        entry_point: The function the code must define, if known.

    Returns:
        The code.
    """
    blocks = [(m["lang"].lower(), m["code"]) for m in _FENCE.finditer(text)]
    if not blocks:
        return text
    candidates = [code for lang, code in blocks if lang in _PYTHON_LANGS] or [code for _, code in blocks]
    if entry_point is not None:
        for code in candidates:
            if _defines(code, entry_point):
                return code
    return candidates[0]


def build_solution(code: str, *, prompt: str, entry_point: str) -> str:
    """The completion placed into the problem's prompt, ready to run or to test.

    Code that defines ``def {entry_point}`` is a full program; the prompt still goes first so
    its imports and helper functions (HumanEval/38's ``encode_cyclic``, say) exist, and the
    model's definition replaces the prompt's docstring-only stub. Other code is a function body
    appended to the prompt; a body written without indentation is indented for it.

    Args:
        code: The extracted completion.
        prompt: The problem's prompt (signature and docstring).
        entry_point: The function the completion completes.

    Returns:
        Python source defining the solution.
    """
    if _defines(code, entry_point):
        return prompt.rstrip("\n") + "\n\n\n" + code
    return prompt + _as_body(code)


def build_program(code: str, *, prompt: str, test: str, entry_point: str) -> str:
    """The program that checks a completion: solution (see `build_solution`), the tests, the check call.

    Args:
        code: The extracted completion.
        prompt: The problem's prompt (signature and docstring).
        test: The problem's test code, defining ``check(candidate)``.
        entry_point: The function under test.

    Returns:
        Python source to run.
    """
    solution = build_solution(code, prompt=prompt, entry_point=entry_point)
    return solution + "\n\n" + test + f"\n\ncheck({entry_point})\n"


class CodePass:
    """1.0 when the completion passes the example's tests in `run_python`, else 0.0.

    Needs ``example.inputs["prompt"]`` and ``example.expected["test"]`` and
    ``["entry_point"]``, as `load_humaneval` produces. The feedback on failure is the end of the
    traceback (which names the failing assertion) or the timeout.

    Args:
        field: The prediction's output field holding the completion.
        timeout_s: Wall-clock limit for one run.
        memory_mb: Memory limit for one run.
        name: The name used in reports.

    Example:
        >>> CodePass()(example, {"completion": "    return sorted(numbers)\\n"}).score
        1.0
    """

    default_name = "code_pass"

    def __init__(
        self,
        field: str = "completion",
        *,
        timeout_s: float = 10.0,
        memory_mb: int = 512,
        name: str | None = None,
    ):
        if not isinstance(field, str) or not field:
            raise ValueError(f"field must be a non-empty string, got {field!r}")
        if not isinstance(timeout_s, int | float) or not timeout_s > 0:
            raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
        if isinstance(memory_mb, bool) or not isinstance(memory_mb, int) or memory_mb <= 0:
            raise ValueError(f"memory_mb must be a positive int, got {memory_mb!r}")
        self.field = field
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.name = self.default_name if name is None else name

    def __call__(self, example: Example, prediction: Mapping[str, Any]) -> MetricResult:
        """Run the completion against the tests and score pass/fail."""
        prompt, test, entry_point = self._problem(example)
        if prediction.get(self.field) is None:
            has = ", ".join(map(str, prediction)) or "no fields"
            return MetricResult(0.0, f"the prediction has no field {self.field!r} (has: {has})")
        code = extract_code(str(prediction[self.field]), entry_point)
        program = build_program(code, prompt=prompt, test=test, entry_point=entry_point)
        result = run_python(program, timeout_s=self.timeout_s, memory_mb=self.memory_mb)
        if result.passed:
            return MetricResult(1.0, "all tests passed")
        if result.timed_out:
            return MetricResult(0.0, f"timed out after {self.timeout_s:g}s")
        return MetricResult(0.0, failure_feedback(result))

    def _problem(self, example: Example) -> tuple[str, str, str]:
        missing = [key for key in ("test", "entry_point") if key not in example.expected]
        if "prompt" not in example.inputs:
            missing.insert(0, "inputs.prompt")
        if missing:
            raise ConfigError(
                f"{self.name}: example {example.id!r} lacks {', '.join(missing)}; "
                "CodePass needs HumanEval-style examples (see load_humaneval)"
            )
        return (
            str(example.inputs["prompt"]),
            str(example.expected["test"]),
            str(example.expected["entry_point"]),
        )

    def __repr__(self) -> str:
        return (
            f"CodePass(field={self.field!r}, timeout_s={self.timeout_s!r}, "
            f"memory_mb={self.memory_mb!r}, name={self.name!r})"
        )


def _defines(code: str, entry_point: str) -> bool:
    return re.search(rf"^[ \t]*def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE) is not None


def _as_body(code: str) -> str:
    """Indent a body the model wrote flush-left, so it lands inside the prompt's function."""
    first = next((line for line in code.splitlines() if line.strip()), "")
    if first and not first[0].isspace():
        return "".join("    " + line if line.strip() else line for line in code.splitlines(keepends=True))
    return code


def failure_feedback(result: SandboxResult) -> str:
    """Why a sandboxed run that did not pass failed: the end of its traceback, or how it ended."""
    if result.returncode == 0 and not result.completed:
        return "the program exited before the tests finished (an early exit is not a pass)"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if lines:
        return "\n".join(lines[-_FEEDBACK_LINES:])
    if result.returncode < 0:
        try:
            killed_by = signal.Signals(-result.returncode).name
        except ValueError:
            killed_by = str(-result.returncode)
        return f"killed by signal {killed_by} (memory limit or crash)"
    return f"exited with status {result.returncode} and no error output"
