"""Optional written answers from a language model, checked against their sources (issue 10).

The extractive answer stays the default and the fallback. When a backend is configured, the
caller hands the passages it already chose (the quoted sentences plus a little context, numbered
from 1) to ``write_answer``; the model sees only those, must cite them as [n], and its text is
sent only if ``check`` finds every sentence cited, every [n] real and every name, date and number
in the passages that sentence cites. Any failure (timeout, HTTP error, malformed reply, checker)
gives ``generated=False`` plus the reason, and the caller sends the extractive answer.

Public API::

    Passage(number, title, source, published, text)          # what the model may use
    Written(text, generated, checker, citations, backend, ms, draft="")
    make_backend(url, model, key, gguf, threads) -> Backend | None   # None: written answers off
    write_answer(question, passages, backend, *, budget_s=60.0) -> Written   # blocking, never raises
    check(text, passages) -> str                              # "passed" or the reason
    build_messages(question, passages) -> list[dict]          # the prompt, for inspection and eval
    Backend (Protocol: name, complete(messages, *, timeout) -> str), GenerationError(reason)
    OpenAICompatible(base_url, model, api_key=None, stream=True), GgufBackend(path, threads)

Integration sketch::

    backend = make_backend(s.llm_url, s.llm_model, s.llm_key, s.llm_gguf, s.llm_threads)  # once
    passages = [Passage(i, src.title, src.source, src.published, context_of(src))
                for i, src in enumerate(answer.sources, 1)]
    written = await asyncio.to_thread(write_answer, question, passages, backend, budget_s=s.llm_timeout)
    reply = written.text if written.generated else answer.text   # log written.checker either way

Send ``text`` only when ``generated`` is True (it is empty otherwise); ``draft`` holds the raw
model output for logs and evaluation. ``citations`` are the passage numbers the text cites. Do
not call ``write_answer`` when the extractive stage abstained: there is nothing to write from.
"""

from index.generation._backend import Backend, make_backend
from index.generation._checker import check
from index.generation._gguf import GgufBackend
from index.generation._openai_compat import OpenAICompatible
from index.generation._prompt import build_messages
from index.generation._types import PASSED, GenerationError, Passage, Written
from index.generation._writer import write_answer

__all__ = [
    "PASSED",
    "Backend",
    "GenerationError",
    "GgufBackend",
    "OpenAICompatible",
    "Passage",
    "Written",
    "build_messages",
    "check",
    "make_backend",
    "write_answer",
]
