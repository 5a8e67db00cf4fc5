"""Test doubles for ann: a loopback OpenAI-compatible server with fault injection."""

from ann.testing.openai_server import (
    Fault,
    OpenAIServer,
    empty_content,
    garbage,
    hang,
    rate_limit,
    server_error,
)

__all__ = [
    "Fault",
    "OpenAIServer",
    "empty_content",
    "garbage",
    "hang",
    "rate_limit",
    "server_error",
]
