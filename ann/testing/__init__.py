"""Test doubles for ann: a loopback OpenAI-compatible server with fault injection."""

from ann.testing.openai_server import (
    Fault,
    FaultPolicy,
    OpenAIServer,
    empty_content,
    garbage,
    hang,
    random_faults,
    rate_limit,
    reset,
    server_error,
    truncated,
)

__all__ = [
    "Fault",
    "FaultPolicy",
    "OpenAIServer",
    "empty_content",
    "garbage",
    "hang",
    "random_faults",
    "rate_limit",
    "reset",
    "server_error",
    "truncated",
]
