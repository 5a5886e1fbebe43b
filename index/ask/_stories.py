"""Ambiguous questions: "who attended the meeting?" over many meetings. When another story's best
sentence scores almost as well as the answer's, the question may mean either, so up to two other
stories are offered beside the answer, each as its own answer, best first."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.ask._sentences import ScoredSentence
from index.digest import STORY_DAYS, STORY_THRESHOLD, article_vector, unit
from index.store import Snapshot

MAX_ALTERNATIVES = 2
"""Stories offered beside the answer: with it, as many as the bot shows (one row of buttons)."""


def other_stories(snap: Snapshot, scored: Sequence[ScoredSentence], margin: float) -> list[ScoredSentence]:
    """The best sentence of every other story scoring within ``margin`` of the answer's best
    sentence, best first. Retrieval already folded wire copies; articles of one event from several
    outlets are folded here as the digest folds them, so each candidate is a story of its own."""
    if not scored or margin < 0:
        return []
    best = scored[0]
    seen = {best.article}
    chosen = [best.article]
    out: list[ScoredSentence] = []
    for s in scored[1:]:  # best first, so an article's first sentence here is its best
        if s.score < best.score - margin:
            break
        if s.article in seen:
            continue
        seen.add(s.article)
        if not any(one_story(snap, s.article, other) for other in chosen):
            chosen.append(s.article)
            out.append(s)
    return out


def one_story(snap: Snapshot, a: int, b: int) -> bool:
    """Two articles report one event (the digest's rule): close article vectors, published at most
    ``STORY_DAYS`` apart (an undated article may be from any day)."""
    days_a, days_b = int(snap.published_ordinal[a]), int(snap.published_ordinal[b])
    if days_a > 0 and days_b > 0 and abs(days_a - days_b) > STORY_DAYS:
        return False
    return float(_article_vector(snap, a) @ _article_vector(snap, b)) >= STORY_THRESHOLD


def _article_vector(snap: Snapshot, article: int) -> np.ndarray:
    """The article's vector at unit length, as the digest compares articles."""
    start, count = int(snap.article_chunk_start[article]), int(snap.article_chunk_count[article])
    return unit(article_vector(snap, start, count)[None, :])[0]
