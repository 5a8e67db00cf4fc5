"""connect(): turn a model name (or none) into a ready ModelClient.

Resolution order for each setting: the argument, then the environment (``ANN_MODEL``,
``ANN_API_BASE``), then the spec; with no model anywhere, the embedded local model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ann.lm import ModelClient, SchemaStyle
    from ann.local_model import LocalServer

_servers: dict[Path, LocalServer] = {}
PLACEHOLDER_KEY = "sk-none"  # what an OpenAI-compatible server that ignores keys is sent


def placeholder_key(model: str, api_base: str | None) -> str | None:
    """OpenAI-compatible servers need some key even when they ignore it: the usual variable's, or a
    placeholder. None for anything else, so LiteLLM reads the provider's own variable."""
    if api_base and model.startswith("openai/"):
        return os.environ.get("OPENAI_API_KEY") or PLACEHOLDER_KEY
    return None


def _local_base(gguf: Path) -> str:
    """One server per GGUF file per process, started on first use."""
    from ann.local_model import LocalServer

    if gguf not in _servers:
        server = LocalServer(gguf)
        server.start()
        _servers[gguf] = server
    return _servers[gguf].api_base


def connect(
    model: str | None = None,
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    gguf: str | Path | None = None,
    temperature: float = 0.0,
    max_tokens: int = 512,
    timeout_s: float = 120.0,
    num_retries: int = 3,
    backoff_s: float = 1.0,
    max_failures: float = 0.25,
    concurrency: int = 4,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    schema_style: SchemaStyle | None = None,
    seed: int | None = None,
    env: bool = True,
) -> ModelClient:
    """A model client, starting the embedded model when no model is named.

    Args:
        model: A LiteLLM model string; falls back to ``ANN_MODEL``, then the embedded model.
        api_base: An OpenAI-compatible endpoint; falls back to ``ANN_API_BASE``.
        api_key: The provider key; LiteLLM also reads the provider's usual variable.
        gguf: Serve this GGUF file with llama.cpp instead of naming a model.
        timeout_s, num_retries, backoff_s, max_failures: See ``ModelConfig``.
        cache: Keep replies in the on-disk call cache.
        cache_dir: Where the cache lives (default: the user cache dir).
        schema_style: Override how constrained JSON is requested (see ``ModelConfig``).
        seed: Sampling seed sent with every request.
        env: Fall back to ``ANN_MODEL`` / ``ANN_API_BASE``; off for a second model (the
            optimizer's), which must not inherit the forward model's endpoint.

    Raises:
        ConfigError: The embedded model or llama-cpp-python is not installed, or a GGUF is missing.
        LMError: The local server failed to start.

    Example:
        >>> lm = connect()                       # embedded SmolLM2, offline
        >>> lm = connect("openai/gpt-4o-mini")   # hosted, key from OPENAI_API_KEY
    """
    # Imported here, not at the top: `import ann` binds connect, and must not load the model machinery.
    from ann.cache import CallCache, default_cache_dir
    from ann.lm import ModelClient, ModelConfig
    from ann.local_model import EMBEDDED_LABEL, embedded_gguf

    if env:
        model = model or os.environ.get("ANN_MODEL") or None
        api_base = api_base or os.environ.get("ANN_API_BASE") or None
    style: SchemaStyle = "none"
    label = ""
    endpoint_id = None
    if gguf is not None or model is None:
        path = Path(gguf) if gguf is not None else embedded_gguf()
        api_base = _local_base(path.resolve())
        model = f"openai/{path.stem.lower()}"
        api_key = api_key or "sk-local"
        style = "llamacpp"
        label = EMBEDDED_LABEL if gguf is None else f"local {path.name}"
        endpoint_id = f"gguf:{path.resolve()}:{path.stat().st_size}"
    else:
        api_key = api_key or placeholder_key(model, api_base)
    config = ModelConfig(
        model=model,
        api_base=api_base,
        api_key=api_key,
        temperature=temperature,
        max_tokens=max_tokens,
        timeout_s=timeout_s,
        num_retries=num_retries,
        backoff_s=backoff_s,
        max_failures=max_failures,
        schema_style=schema_style or style,
        label=label,
        seed=seed,
        endpoint_id=endpoint_id,
    )
    call_cache = CallCache(Path(cache_dir) if cache_dir else default_cache_dir()) if cache else None
    return ModelClient(config, cache=call_cache, concurrency=concurrency)
