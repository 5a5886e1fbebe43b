"""The short answer: the reader's words, read once from the passages the reply already quotes, kept
only when the reader is sure and the words stand verbatim in a quoted sentence (grounded by
construction); ranking, quotes, declines and confidence never depend on it."""

from __future__ import annotations

from collections.abc import Sequence

from index.ask._sentences import ScoredSentence
from index.models import TextReader
from index.store import Snapshot

MAX_PASSAGES = 2
"""Passages read per answer (one per quoted article; the reply quotes at most two)."""


def quoted_passages(snap: Snapshot, groups: Sequence[tuple[int, Sequence[ScoredSentence]]]) -> list[tuple[str, str]]:
    """``(title, chunk text)`` of the chunk holding each quoted article's first quoted sentence."""
    passages: list[tuple[str, str]] = []
    for article, sentences in groups[:MAX_PASSAGES]:
        first = min(s.sid for s in sentences)
        start = int(snap.article_chunk_start[article])
        for chunk in range(start, start + int(snap.article_chunk_count[article])):
            if int(snap.chunk_first[chunk]) <= first <= int(snap.chunk_last[chunk]):
                passage = (snap.articles[article].citation.title, snap.chunk_text[chunk])
                if passage not in passages:
                    passages.append(passage)
                break
    return passages


def short_answer(
    reader: TextReader,
    snap: Snapshot,
    question: str,
    groups: Sequence[tuple[int, Sequence[ScoredSentence]]],
) -> str | None:
    """The reader's span over the quoted passages (one batch), or None.

    Kept when the reading is relevant (the reader's calibrated relevance threshold), the best span
    beats the null span, and the span's words stand verbatim in a sentence the reply quotes.
    """
    passages = quoted_passages(snap, groups)
    if not passages:
        return None
    quoted = [snap.sentence_text[s.sid] for _, sentences in groups for s in sentences]
    best: tuple[float, str] | None = None
    for (_, text), reading in zip(passages, reader.read(question, passages), strict=True):
        if reading.span is None or reading.relevance < reader.relevance_threshold or reading.answer_score <= 0:
            continue
        words = text[reading.span[0] : reading.span[1]].strip()
        if not words or not any(words in sentence for sentence in quoted):
            continue
        if best is None or reading.answer_score > best[0]:
            best = (reading.answer_score, words)
    return best[1] if best else None
