"""A GGUF model run in this process through ``xllamacpp`` (optional, imported on first use).

One generation at a time (on a small CPU two at once are each slower than waiting); the deadline
is kept by streaming: the token callback asks llama.cpp to stop once time is up.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from index.generation._types import MAX_TOKENS, GenerationError

log = logging.getLogger(__name__)

CONTEXT_TOKENS = 4096


class GgufBackend:
    """Loads the model on first use (a few seconds); ``load()`` does it earlier, e.g. at start-up."""

    def __init__(self, path: str, threads: int = 1) -> None:
        self.path = path
        self.threads = max(1, threads)
        self.name = f"gguf:{Path(path).name}"
        self._server: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GgufBackend(path={self.path!r}, threads={self.threads})"

    def load(self) -> None:
        with self._load_lock:
            if self._server is not None:
                return
            try:
                import xllamacpp
            except ImportError as exc:
                raise GenerationError("xllamacpp is not installed") from exc
            params = xllamacpp.CommonParams()
            params.model.path = self.path
            params.n_ctx = CONTEXT_TOKENS
            params.n_parallel = 1
            params.n_predict = MAX_TOKENS
            params.cpuparams.n_threads = self.threads
            params.cpuparams_batch.n_threads = self.threads
            params.warmup = False
            started = time.monotonic()
            try:
                self._server = xllamacpp.Server(params)
            except Exception as exc:  # llama.cpp reports load failures as plain exceptions
                raise GenerationError(f"cannot load the GGUF model ({type(exc).__name__})") from exc
            log.info("loaded %s in %.1f s with %d thread(s)", self.name, time.monotonic() - started, self.threads)

    def complete(self, messages: list[dict[str, str]], *, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        if not self._run_lock.acquire(timeout=max(0.0, timeout)):
            raise GenerationError(f"timeout after {timeout:g} s")
        try:
            self.load()
            return self._generate(messages, deadline, timeout)
        finally:
            self._run_lock.release()

    def _generate(self, messages: list[dict[str, str]], deadline: float, timeout: float) -> str:
        parts: list[str] = []
        state = {"error": "", "late": False}

        def on_chunk(chunk: Any) -> bool:
            """Collects text; returning True asks llama.cpp to stop generating."""
            if not isinstance(chunk, dict):
                state["error"] = "malformed response"
                return True
            if "error" in chunk or ("choices" not in chunk and "message" in chunk):
                state["error"] = "model error"
                return True
            for choice in chunk.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content")
                if isinstance(piece, str):
                    parts.append(piece)
            if time.monotonic() > deadline:
                state["late"] = True
                return True
            return False

        request = {"messages": messages, "temperature": 0, "max_tokens": MAX_TOKENS, "stream": True}
        try:
            self._server.handle_chat_completions(request, on_chunk)
        except Exception as exc:
            raise GenerationError(f"model error ({type(exc).__name__})") from exc
        if state["late"] or time.monotonic() > deadline:
            raise GenerationError(f"timeout after {timeout:g} s")
        if state["error"]:
            raise GenerationError(str(state["error"]))
        return "".join(parts)
