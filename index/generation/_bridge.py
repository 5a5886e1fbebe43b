"""Between the extractive answer and the model: the passages it may read, and the answer sent.

The model sees only the answer's own quotes and the extra articles' sentences, numbered like the
sources; an extra article becomes a source only when the checked text cites it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from index.generation._checker import sentences
from index.generation._types import PASSED, Passage, Reading, Written
from index.types import Answer

_MARKER = re.compile(r"\[(\d+)\]")


def passages(answer: Answer) -> list[Passage]:
    """Numbered like the answer's sources ([1]..[m]), then the extra articles ([m+1]..)."""
    return [
        Passage(n, s.citation.title, s.citation.source, s.citation.published, s.quote)
        for n, s in enumerate((*answer.sources, *answer.extra), 1)
    ]


def reading(answer: Answer) -> Reading | None:
    """What the reader found, for the relevance check: its short answer, the first quoted sentence
    (the one holding the short answer, if another), and the best story as passage [1]."""
    if not answer.sources:
        return None
    quoted = sentences(" ".join(answer.sources[0].quote.split())) or [answer.sources[0].quote]
    short = answer.short_answer
    best = next((s for s in quoted if short and short in s), quoted[0])
    return Reading(short, best, passages(answer)[0])


def merge(answer: Answer, written: Written, *, ms: float | None = None) -> Answer:
    """The answer to send: the written text when it passed the checker, else the extractive one.
    Every quoted source stays; an extra article becomes a source only when cited, markers renumbered
    so [n] is ``sources[n-1]``. ``ms``: the answer's time with the writing counted, when measured."""
    took = answer.ms if ms is None else ms
    if not written.generated or written.checker != PASSED:
        return replace(answer, generated=False, checker=written.checker, ms=took)
    first_extra = len(answer.sources) + 1
    numbers = {n: n for n in range(1, first_extra)}
    sources = list(answer.sources)
    for n in sorted(set(written.citations)):
        if n >= first_extra and n - first_extra < len(answer.extra):
            sources.append(answer.extra[n - first_extra])
            numbers[n] = len(sources)
    text = _MARKER.sub(lambda m: f"[{numbers.get(int(m.group(1)), int(m.group(1)))}]", written.text)
    return replace(answer, text=text, spans=(), sources=tuple(sources), generated=True, checker=PASSED, ms=took)
