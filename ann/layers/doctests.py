"""Doctest checks: run a code candidate against the ``>>>`` examples in the layer's own inputs.

The examples come only from what the layer reads (a HumanEval prompt's docstring, say), never
from an example's expected values or a metric's hidden tests. The candidate's code and the
examples run together as one program in the sandbox (`ann.datasets.sandbox.run_python`); a small
harness at its end runs the examples with `doctest` and prints how many passed. It ranks
candidates, it is no metric: code that tampers with the harness can fake its count, so the
metric's own tests stay the judge of the answer.
"""

from __future__ import annotations

import ast
import doctest
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ann.datasets.code_metric import build_solution, extract_code, failure_feedback
from ann.datasets.sandbox import SandboxResult

_MARKER = "__ann_doctest__ "
_MESSAGE_CHARS = 300

# Runs after the candidate's code, in its module: each example as doctest would, then one result line.
_HARNESS = """

def _ann_doctest(examples, marker):
    import doctest, json, sys, traceback
    failures = []

    class Runner(doctest.DocTestRunner):
        def report_failure(self, out, test, example, got):
            failures.append(f"{example.source.strip()} expected {example.want.strip()!r}, got {got.strip()!r}")

        def report_unexpected_exception(self, out, test, example, exc_info):
            error = traceback.format_exception_only(exc_info[0], exc_info[1])[-1].strip()
            failures.append(f"{example.source.strip()} expected {example.want.strip()!r}, raised {error}")

    test = doctest.DocTest([doctest.Example(*e) for e in examples], globals(), "verify", None, None, None)
    runner = Runner(verbose=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    result = runner.run(test, out=lambda text: None, clear_globs=False)
    passed = result.attempted - result.failed
    sys.stdout.write(marker + json.dumps({"passed": passed, "failure": failures[:1]}) + "\\n")
"""


@dataclass(frozen=True)
class DocExamples:
    """The examples a layer's inputs give, and the stub they document.

    Args:
        examples: The ``>>>`` examples, as `doctest.DocTestParser` reads them.
        stub: The input that defines the function (its signature and docstring); "" when the
            examples came from plain text.
        entry_point: The function the candidate completes: the stub's last top-level function.
    """

    examples: list[doctest.Example] = field(default_factory=list)
    stub: str = ""
    entry_point: str | None = None


def find_examples(values: Mapping[str, Any]) -> DocExamples:
    """The doctest examples in the first input that has any: a function stub's docstrings, or plain text."""
    parser = doctest.DocTestParser()
    stub = DocExamples()
    for value in values.values():
        if not isinstance(value, str):
            continue
        try:
            tree = ast.parse(value)
        except (SyntaxError, ValueError, RecursionError):
            if examples := _examples_in(parser, value):
                return DocExamples(examples)
            continue
        functions = [node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
        if not functions:
            continue
        docs = [ast.get_docstring(node) or "" for node in ast.walk(tree) if _has_docstring(node)]
        found = DocExamples([e for doc in docs for e in _examples_in(parser, doc)], value, functions[-1].name)
        if found.examples:
            return found
        stub = stub if stub.stub else found
    return stub


def _examples_in(parser: doctest.DocTestParser, text: str) -> list[doctest.Example]:
    """The ``>>>`` examples in ``text``; where doctest refuses the whole text, those it reads one by one.

    A newline escaped in a non-raw docstring (HumanEval/51: ``remove_vowels("abcdef\\nghijklm")``)
    becomes a real one, so that example's lines lose their indentation and doctest refuses the
    docstring; the other examples in it are still good checks.
    """
    try:
        return parser.get_examples(text)
    except ValueError:
        pass
    examples = []
    for chunk in re.split(r"(?m)^(?=[ \t]*>>>)", text):
        try:
            examples += parser.get_examples(chunk)
        except ValueError:
            continue
    return examples


def doctest_program(text: str, found: DocExamples) -> str:
    """The candidate's code (placed into the stub, if any) followed by the examples as checks."""
    code = extract_code(text, found.entry_point)
    if found.entry_point is not None:
        code = build_solution(code, prompt=found.stub, entry_point=found.entry_point)
    checks = [(e.source, e.want, e.exc_msg, e.lineno, e.indent, e.options) for e in found.examples]
    return code + _HARNESS + f"\n_ann_doctest({checks!r}, {_MARKER!r})\n"


def doctest_score(result: SandboxResult, found: DocExamples, *, timeout_s: float) -> tuple[float, str]:
    """The fraction of examples that passed, and the first failure (or why the program did not run)."""
    lines = [line for line in result.stdout.splitlines() if line.startswith(_MARKER)]
    if not lines:
        why = f"timed out after {timeout_s:g}s" if result.timed_out else failure_feedback(result)
        return 0.0, _short(why)
    try:
        report = json.loads(lines[-1].removeprefix(_MARKER))
        passed, failures = int(report["passed"]), [str(f) for f in report["failure"]]
    except (ValueError, TypeError, KeyError):
        return 0.0, "the check's report was unreadable (the program printed over it)"
    total = len(found.examples)
    passed = min(max(passed, 0), total)
    if total == 0:
        return 1.0, "no docstring examples to check; the code runs"
    if failures:
        return passed / total, _short(f"{total - passed} of {total} examples failed; {failures[0]}")
    return passed / total, f"all {total} docstring examples pass"


def _has_docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)


def _short(text: str) -> str:
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"
