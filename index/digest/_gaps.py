"""Questions grouped by meaning, each group with the live article nearest to it, so moderators
see which subjects the index lacks (the gap report)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.digest._cluster import greedy_groups, unit
from index.digest._types import QuestionGroup
from index.models import Encoder
from index.store import Snapshot
from index.types import ArticleHit

QUESTION_THRESHOLD = 0.70
"""Cosine between a question and a group's centroid from which they ask the same thing."""
NEAREST_CHUNKS = 50


def group_questions(snap: Snapshot | None, encoder: Encoder, questions: Sequence[str]) -> list[QuestionGroup]:
    """Groups of ``questions`` (indexes), largest first; the same text (case and spacing aside) is
    encoded once. ``snap`` None: no index yet, so no nearest article."""
    keys = [" ".join(q.split()).casefold() for q in questions]
    distinct = list(dict.fromkeys(k for k in keys if k))
    if not distinct:
        return []
    vectors = unit(np.stack([encoder.encode_query(k) for k in distinct]))
    out: list[QuestionGroup] = []
    for group in greedy_groups(vectors, QUESTION_THRESHOLD):
        centroid = unit(vectors[group].mean(axis=0, keepdims=True))[0]
        closeness = {distinct[g]: float(vectors[g] @ centroid) for g in group}
        members = [i for i, k in enumerate(keys) if k in closeness]
        members.sort(key=lambda i: (-closeness[keys[i]], i))
        out.append(QuestionGroup(tuple(members), _nearest(snap, centroid)))
    out.sort(key=lambda g: (-len(g.members), g.members[0]))
    return out


def _nearest(snap: Snapshot | None, vector: np.ndarray) -> ArticleHit | None:
    """The live article with the chunk closest to ``vector`` (its cosine as the score)."""
    if snap is None:
        return None
    ids, scores = snap.dense(vector, NEAREST_CHUNKS)
    if not len(ids):
        return None
    row = snap.articles[int(snap.chunk_article[int(ids[0])])]
    return ArticleHit(row.citation, float(scores[0]))
