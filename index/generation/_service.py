"""Written answers for the engine (``engine.writer``): the language model made once, used when wanted.

The extractive answer is always the fallback: a missing model, a configuration mistake or a
failed check leaves it as it was, with the reason in ``checker``; nothing here ever raises.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

from index.generation._backend import Backend, make_backend
from index.generation._bridge import merge, passages, reading
from index.generation._writer import write_answer
from index.settings import Settings
from index.types import Answer

log = logging.getLogger(__name__)

EXTRA_ARTICLES = 2
"""Ranked articles beyond the quoted ones whose best sentences the model may also cite."""


class Writer:
    """Thread-safe; ``extra_articles`` is the one knob callers may change (the evaluation does)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.extra_articles = EXTRA_ARTICLES
        self._backend: Backend | None = None
        self._error = ""
        self._made = False
        self._lock = threading.Lock()

    @property
    def can_write(self) -> bool:
        """A language model is configured (``POLICYBOT_LLM_URL`` or ``POLICYBOT_LLM_GGUF``)."""
        return bool(self.settings.llm_url or self.settings.llm_gguf)

    def writes(self, written: bool | None = None) -> bool:
        """Whether an answer is written: forced by ``written``, else ``POLICYBOT_ANSWERS``; never
        without a model."""
        wanted = self.settings.answers == "written" if written is None else written
        return wanted and self.can_write

    def backend(self) -> Backend | None:
        """The language model, made once (a GGUF file loads on its first answer)."""
        if not self._made:
            with self._lock:
                if not self._made:
                    s = self.settings
                    key = s.llm_key.get_secret_value() if s.llm_key else None
                    try:
                        gguf = str(s.llm_gguf) if s.llm_gguf else None
                        self._backend = make_backend(s.llm_url, s.llm_model, key, gguf, s.llm_threads)
                    except ValueError as exc:  # a configuration mistake: quoted answers keep working
                        self._error = f"language model unavailable: {exc}"
                        log.error("%s", self._error)
                    self._made = True
        return self._backend

    def write(self, answer: Answer, *, started: float | None = None) -> Answer:
        """The written form of an extractive answer when the checker passes it, else the answer
        with the reason in ``checker``. Blocking (up to ``POLICYBOT_LLM_TIMEOUT`` seconds).

        ``started`` (a ``time.perf_counter()`` reading): the answer's ``ms`` then counts from it.
        """

        def took() -> float:
            return answer.ms if started is None else (time.perf_counter() - started) * 1000

        if not answer.answerable:
            return replace(answer, generated=False, checker="nothing to write from (no answer found)", ms=took())
        backend = self.backend() if self.can_write else None
        if backend is None:
            return replace(answer, generated=False, checker=self._error or "off", ms=took())
        if answer.generated:
            return answer if started is None else replace(answer, ms=took())  # already written
        result = write_answer(
            answer.question, passages(answer), backend, budget_s=self.settings.llm_timeout, reading=reading(answer)
        )
        log.info("written answer %s (%s, %.0f ms)", result.checker, result.backend, result.ms)
        return merge(answer, result, ms=took())
