"""The one scripted-LM fixture every unit test uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from ann.lm import ModelClient
from ann.testing.scripted_lm import scripted_client


@pytest.fixture
def scripted() -> Callable[..., ModelClient]:
    """``scripted(fn_or_replies, **config)`` → a ModelClient answering from the script."""

    def make(script: Callable[[list[dict[str, str]]], str] | Sequence[str], **config: object) -> ModelClient:
        return scripted_client(script, **config)

    return make
