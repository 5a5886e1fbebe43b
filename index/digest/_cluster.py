"""Greedy centroid clustering of unit vectors: each item joins the group whose centroid it is
closest to when that cosine reaches the threshold, else starts a group. One pass, O(items x groups),
so a busy week's articles or a month of questions cluster in milliseconds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def greedy_groups(
    vectors: np.ndarray,
    threshold: float,
    order: Sequence[int] | None = None,
    *,
    days: Sequence[int] | None = None,
    max_gap: int = 0,
) -> list[list[int]]:
    """Groups of row indexes of ``vectors`` (unit rows), visited in ``order`` (default: row order).

    With ``days`` (a day number per row), a row joins only a group whose latest row is at most
    ``max_gap`` days from it: a story's copies appear within days, a follow-up weeks later is news.
    """
    n = int(vectors.shape[0])
    if n == 0:
        return []
    sums = np.zeros((n, vectors.shape[1]), dtype=np.float64)  # at most one group per row
    latest = np.zeros(n, dtype=np.int64)
    groups: list[list[int]] = []
    for i in order if order is not None else range(n):
        v = vectors[i].astype(np.float64)
        if groups:
            k = len(groups)
            cosines = (sums[:k] @ v) / np.maximum(np.linalg.norm(sums[:k], axis=1), 1e-12)
            if days is not None:
                cosines = np.where(np.abs(latest[:k] - days[i]) <= max_gap, cosines, -np.inf)
            best = int(np.argmax(cosines))
            if cosines[best] >= threshold:
                groups[best].append(i)
                sums[best] += v
                if days is not None:
                    latest[best] = max(int(latest[best]), int(days[i]))
                continue
        sums[len(groups)] = v
        if days is not None:
            latest[len(groups)] = int(days[i])
        groups.append([i])
    return groups


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
