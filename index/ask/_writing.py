"""Between the extractive answer and the generation layer: what the model may read, and what is sent.

The engine decides *when* to write; this module decides *what from*. The model only ever sees
the extractive answer's own quotes (numbered like its sources) plus the best sentences of the
next one or two ranked articles, so a yes/no or comparison question that spans two articles can
be written. Extra articles become sources only when the checked text cites them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from index.generation import PASSED, Passage, Written
from index.store._snapshot import Snapshot
from index.types import Answer, Source

EXTRA_ARTICLES = 2
"""Ranked articles beyond the quoted ones whose best sentences the model may also cite."""
EXTRA_SENTENCES = 2
"""Sentences taken from each extra article (best first, shown in reading order)."""

_MARKER = re.compile(r"\[(\d+)\]")


class Scored(Protocol):
    """One candidate sentence as ``Composer.assess`` returns it (best first)."""

    @property
    def sid(self) -> int: ...
    @property
    def article(self) -> int: ...
    @property
    def score(self) -> float: ...


def extra_sources(
    snap: Snapshot,
    answer: Answer,
    ranked: Iterable[int],
    scored: Sequence[Scored],
    *,
    articles: int = EXTRA_ARTICLES,
    sentences: int = EXTRA_SENTENCES,
) -> tuple[Source, ...]:
    """The best sentences of the next ``articles`` ranked articles that the answer does not quote.

    ``ranked`` are article indexes in rank order; only articles with scored sentences count.
    """
    if articles <= 0:
        return ()
    quoted = {s.article_id for s in answer.sources}
    best: dict[int, list[Scored]] = {}
    for s in scored:
        if len(best.setdefault(s.article, [])) < sentences:
            best[s.article].append(s)
    out: list[Source] = []
    for idx in ranked:
        citation = snap.articles[idx].citation
        if citation.article_id in quoted or not best.get(idx):
            continue
        chosen = sorted(best[idx], key=lambda s: s.sid)
        quote = " ".join(snap.sentence_text[s.sid] for s in chosen)
        out.append(Source(citation=citation, quote=quote, score=max(s.score for s in chosen)))
        quoted.add(citation.article_id)
        if len(out) == articles:
            break
    return tuple(out)


def passages(answer: Answer) -> list[Passage]:
    """Numbered like the answer's sources ([1]..[m]), then the extra articles ([m+1]..)."""
    return [
        Passage(n, s.citation.title, s.citation.source, s.citation.published, s.quote)
        for n, s in enumerate((*answer.sources, *answer.extra), 1)
    ]


def merge(answer: Answer, written: Written) -> Answer:
    """The answer to send: the written text when it passed the checker, else the extractive one.

    Every quoted source stays (the Sources button shows them); an extra article is added as a
    source only when cited, and the markers are renumbered so [n] is always ``sources[n-1]``.
    """
    if not written.generated or written.checker != PASSED:
        return replace(answer, generated=False, checker=written.checker)
    first_extra = len(answer.sources) + 1
    numbers = {n: n for n in range(1, first_extra)}
    sources = list(answer.sources)
    for n in sorted(set(written.citations)):
        if n >= first_extra and n - first_extra < len(answer.extra):
            sources.append(answer.extra[n - first_extra])
            numbers[n] = len(sources)
    text = _MARKER.sub(lambda m: f"[{numbers.get(int(m.group(1)), int(m.group(1)))}]", written.text)
    return replace(answer, text=text, spans=(), sources=tuple(sources), generated=True, checker=PASSED)
