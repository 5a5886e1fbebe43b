"""How well an article matches a saved question (``/watch``): its best chunk cosine to the question.

Raw cosine is on one scale for every question and needs no other candidates, so one fixed threshold
(calibrated by :mod:`measure.calibrate.watch`) can decide whether a new article is worth a message.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from index.store import Snapshot


def article_scores(snap: Snapshot, vector: np.ndarray, article_ids: Iterable[str]) -> list[tuple[str, float]]:
    """``(article_id, score)`` for each id the snapshot holds, best first (unknown ids are skipped)."""
    query = np.asarray(vector, dtype=np.float32).reshape(-1)
    scored: list[tuple[str, float]] = []
    for article_id in dict.fromkeys(article_ids):
        row = snap.by_id.get(article_id)
        if row is None or row.chunk_count == 0:
            continue
        chunks = snap.chunk_vectors[row.chunk_start : row.chunk_start + row.chunk_count]
        scored.append((article_id, float(np.max(chunks @ query))))
    return sorted(scored, key=lambda pair: -pair[1])
