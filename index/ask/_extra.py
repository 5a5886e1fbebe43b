"""What a written answer may also cite: the best sentences of the next-ranked articles.

A yes/no or comparison question can span two stories, so the model reads a little beyond the
quoted ones; only sentences the extractive stage already scored are offered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from index.ask._sentences import ScoredSentence
from index.store import Snapshot
from index.types import Source

EXTRA_SENTENCES = 2
"""Sentences taken from each extra article (best first, shown in reading order)."""


def extra_sources(
    snap: Snapshot,
    quoted: Iterable[Source],
    ranked: Iterable[int],
    scored: Sequence[ScoredSentence],
    *,
    articles: int,
    sentences: int = EXTRA_SENTENCES,
) -> tuple[Source, ...]:
    """The best sentences of the next ``articles`` ranked articles that ``quoted`` does not hold.

    ``ranked`` are article indexes in rank order; only articles with scored sentences count.
    """
    if articles <= 0:
        return ()
    seen = {s.article_id for s in quoted}
    best: dict[int, list[ScoredSentence]] = {}
    for s in scored:
        if len(best.setdefault(s.article, [])) < sentences:
            best[s.article].append(s)
    out: list[Source] = []
    for idx in ranked:
        citation = snap.articles[idx].citation
        if citation.article_id in seen or not best.get(idx):
            continue
        chosen = sorted(best[idx], key=lambda s: s.sid)
        quote = " ".join(snap.sentence_text[s.sid] for s in chosen)
        out.append(Source(citation=citation, quote=quote, score=max(s.score for s in chosen)))
        seen.add(citation.article_id)
        if len(out) == articles:
            break
    return tuple(out)
