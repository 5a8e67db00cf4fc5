"""The exception tree: every error ann raises descends from AnnError.

Errors that are the user's (a bad spec, a bad dataset) carry enough context to be printed as one
line by the CLI: the file, the line or field, and what is wrong.
"""

from __future__ import annotations


class AnnError(Exception):
    """Base of every error raised by ann."""


class ConfigError(AnnError):
    """A spec, flag or setting is invalid."""


class GraphError(ConfigError):
    """A graph is malformed: a cycle, a missing producer, a duplicate name, an empty team."""


class DatasetError(ConfigError):
    """A dataset file is unreadable or a record is malformed."""


class TrustError(ConfigError):
    """A spec or bundle names a tools file ann will not import unless the user trusts it."""


class ParseError(AnnError):
    """An LLM reply could not be parsed; `raw` keeps the reply for the trace."""

    def __init__(self, message: str, *, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw


class LMError(AnnError):
    """A model call failed: unreachable endpoint, unknown model, exhausted retries."""


class SandboxError(AnnError):
    """The code sandbox itself could not run (not a failure of the code under test)."""


class BudgetExceeded(AnnError):
    """A budget cap (calls, cost, time) was reached; a training run stops with the best so far."""


class TooManyFailures(AnnError):
    """More of a batch's examples failed on model calls than the model's ``max_failures`` allows.

    One failed call only fails its example; this stops the run, since the model is failing too often
    for its scores to mean anything.
    """


class RunError(AnnError):
    """A forward pass failed; ``trace`` holds what happened up to the failure."""

    def __init__(self, message: str, *, trace: object = None) -> None:
        super().__init__(message)
        self.trace = trace
