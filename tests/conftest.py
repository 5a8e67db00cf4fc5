"""Shared fixtures: the scripted LM every unit test uses, and a loopback shop API for HTTP tools."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from ann.lm import ModelClient
from ann.testing.scripted_lm import scripted_client
from tests.shop_api import api  # noqa: F401 — a fixture, shared by the HTTP-tool tests


@pytest.fixture
def scripted() -> Callable[..., ModelClient]:
    """``scripted(fn_or_replies, **config)`` → a ModelClient answering from the script."""

    def make(script: Callable[[list[dict[str, str]]], str] | Sequence[str], **config: object) -> ModelClient:
        return scripted_client(script, **config)

    return make
