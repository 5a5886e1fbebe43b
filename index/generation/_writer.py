"""One written answer, start to finish: prompt, model, checker, and a fallback for every failure.

Never raises for a backend failure: the extractive answer is always there to send instead,
so every failure becomes ``generated=False`` with the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from index.generation._backend import Backend
from index.generation._checker import check
from index.generation._citations import cited, tidy
from index.generation._prompt import build_messages
from index.generation._types import PASSED, GenerationError, Passage, Reading, Written

log = logging.getLogger(__name__)

DEFAULT_BUDGET_S = 60.0


def write_answer(
    question: str,
    passages: Sequence[Passage],
    backend: Backend,
    *,
    budget_s: float = DEFAULT_BUDGET_S,
    reading: Reading | None = None,
) -> Written:
    """Ask ``backend`` to answer from ``passages`` within ``budget_s`` and check the result (against
    ``reading`` too, when given: the text must carry what the reader found).

    Blocking (seconds to a minute): from async code call it through ``asyncio.to_thread``.
    """
    started = time.monotonic()

    def done(reason: str, draft: str = "") -> Written:
        ms = (time.monotonic() - started) * 1000
        if reason != PASSED:
            log.info("written answer not used (%s): %s", backend.name, reason)
            return Written("", False, reason, (), backend.name, ms, draft)
        text = tidy(draft)
        return Written(text, True, PASSED, tuple(sorted(cited(text))), backend.name, ms, draft)

    if not passages:
        return done("nothing to write from")
    try:
        answer_words = reading.short_answer if reading else None
        draft = backend.complete(build_messages(question, passages, answer_words), timeout=budget_s)
    except GenerationError as exc:
        return done(exc.reason)
    except Exception as exc:  # a backend bug must not cost the user the extractive answer
        log.exception("LLM backend %s failed", backend.name)
        return done(f"backend failed ({type(exc).__name__})")
    if time.monotonic() - started > budget_s:
        return done(f"timeout after {budget_s:g} s", draft)
    return done(check(draft, passages, question=question, reading=reading), draft)
