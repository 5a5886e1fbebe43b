"""The short answers: the reader's words, read in one batch from the passages the reply quotes and
each other story's, kept only when the reader is sure and they stand verbatim in a quoted sentence
(grounded by construction); ranking, quotes, declines and confidence never depend on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from index.ask._sentences import ScoredSentence
from index.models import Reading, TextReader
from index.store import Snapshot

MAX_PASSAGES = 2
"""Passages read per answer (one per quoted article; the reply quotes at most two)."""


@dataclass(frozen=True)
class StoryReading:
    """What the reader made of one story: its short answer, and whether the reading was relevant at
    all (another story is offered only when it was)."""

    words: str | None = None
    relevant: bool = False


UNREAD = StoryReading()


def passage_of(snap: Snapshot, article: int, sid: int) -> tuple[str, str] | None:
    """``(title, chunk text)`` of the article's chunk holding sentence ``sid``."""
    start = int(snap.article_chunk_start[article])
    for chunk in range(start, start + int(snap.article_chunk_count[article])):
        if int(snap.chunk_first[chunk]) <= sid <= int(snap.chunk_last[chunk]):
            return snap.articles[article].citation.title, snap.chunk_text[chunk]
    return None


def quoted_passages(snap: Snapshot, groups: Sequence[tuple[int, Sequence[ScoredSentence]]]) -> list[tuple[str, str]]:
    """``(title, its quoted sentences as the reply quotes them)`` for each quoted article: the reader reads
    what the reply quotes, so the sentence holding the answer is never outside what it reads."""
    passages: list[tuple[str, str]] = []
    for article, sentences in groups[:MAX_PASSAGES]:
        text = " ".join(snap.sentence_text[s.sid] for s in sentences)  # as the source's quote reads
        passage = (snap.articles[article].citation.title, text)
        if passage not in passages:
            passages.append(passage)
    return passages


def read_stories(
    reader: TextReader,
    snap: Snapshot,
    question: str,
    groups: Sequence[tuple[int, Sequence[ScoredSentence]]],
    others: Sequence[ScoredSentence] = (),
) -> tuple[StoryReading, list[StoryReading]]:
    """The answer's reading and each other story's, from one batch of passages.

    The answer's words may come from any of its passages and must stand in a sentence it quotes;
    another story's words must stand in its one quoted sentence.
    """
    own = quoted_passages(snap, groups)
    theirs = [passage_of(snap, s.article, s.sid) for s in others]
    batch = list(dict.fromkeys([*own, *(p for p in theirs if p is not None)]))
    readings = dict(zip(batch, reader.read(question, batch), strict=True)) if batch else {}
    threshold = reader.relevance_threshold
    quoted = [s.sid for _, sentences in groups for s in sentences]
    best: tuple[float, StoryReading] | None = None
    for passage in own:
        found = _grounded(snap, readings[passage], passage[1], quoted, threshold)
        if found is not None and (best is None or readings[passage].answer_score > best[0]):
            best = (readings[passage].answer_score, found)
    mine = best[1] if best else UNREAD
    stories = []
    for s, where in zip(others, theirs, strict=True):
        if where is None:
            stories.append(UNREAD)
            continue
        reading = readings[where]
        found = _grounded(snap, reading, where[1], [s.sid], threshold)
        stories.append(found or StoryReading(relevant=reading.relevance >= threshold))
    return mine, stories


def _grounded(snap: Snapshot, reading: Reading, text: str, quoted: Sequence[int], threshold: float) -> StoryReading | None:
    """The reading's span when it is sure (relevant, better than no answer) and stands verbatim in
    one of the ``quoted`` sentences; None otherwise."""
    if reading.span is None or reading.relevance < threshold or reading.answer_score <= 0:
        return None
    words = text[reading.span[0] : reading.span[1]].strip()
    if not words or not any(words in snap.sentence_text[sid] for sid in quoted):
        return None
    return StoryReading(words, relevant=True)
