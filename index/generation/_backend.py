"""What every model backend offers, and the one place that turns settings into a backend."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Protocol, runtime_checkable

from index.generation._types import GenerationError

__all__ = ["Backend", "GenerationError", "make_backend"]


@runtime_checkable
class Backend(Protocol):
    """A chat model: ``complete`` returns the assistant's text or raises ``GenerationError``.

    It must give up by ``timeout`` seconds after the call (an overall deadline, not a socket
    timeout) and must be safe to call from a worker thread.
    """

    name: str

    def complete(self, messages: list[dict[str, str]], *, timeout: float) -> str: ...


def make_backend(url: str | None, model: str | None, key: str | None, gguf: str | None, threads: int) -> Backend | None:
    """The backend the settings ask for (a server ``url`` or an in-process ``gguf``), None when off.

    Both set, a missing file or a missing ``xllamacpp`` raise ``ValueError`` at start-up, not at the first question.
    """
    if url and gguf:
        raise ValueError("set either an LLM URL or a GGUF file, not both")
    if url:
        from index.generation._openai_compat import OpenAICompatible

        return OpenAICompatible(url, model, key)
    if gguf:
        if not Path(gguf).is_file():
            raise ValueError(f"GGUF model file not found: {gguf}")
        if importlib.util.find_spec("xllamacpp") is None:
            raise ValueError("running a GGUF file needs the xllamacpp package (pip install xllamacpp)")
        from index.generation._gguf import GgufBackend

        return GgufBackend(gguf, threads)
    return None
