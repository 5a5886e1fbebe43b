"""Inverse document frequency of (lightly stemmed) words over a snapshot's chunks.

Used to weigh question words: a rare name says more about where the answer is than "attack".
"""

from __future__ import annotations

import math
import weakref

from index.store import Snapshot
from index.terms import stem, tokens

_CACHE: weakref.WeakKeyDictionary[Snapshot, dict[str, float]] = weakref.WeakKeyDictionary()


def idf_table(snap: Snapshot) -> dict[str, float]:
    """Computed once per snapshot, on first use (``Engine.warm`` does it before any question)."""
    table = _CACHE.get(snap)
    if table is None:
        df: dict[str, int] = {}
        for text in snap.chunk_text:
            for t in {stem(t) for t in tokens(text)}:
                df[t] = df.get(t, 0) + 1
        n = max(len(snap.chunk_text), 1)
        table = _CACHE[snap] = {t: math.log(1 + n / c) for t, c in df.items()}
    return table


def unseen_idf(snap: Snapshot) -> float:
    """The weight of a word no chunk contains: as specific as a word can be."""
    return math.log(1 + max(len(snap.chunk_text), 1))


def selective_terms(snap: Snapshot, terms: list[str], max_share: float = 0.2, keep: int = 2) -> list[str]:
    """The terms worth a full-text lookup: words in more than ``max_share`` of chunks add little to
    BM25's ranking but make SQLite score most of the table, so they are left out (the rarest
    ``keep`` always stay)."""
    table = idf_table(snap)
    floor = math.log(1 + 1 / max_share)
    unseen = unseen_idf(snap)
    weighted = [(table.get(stem(t), unseen), t) for t in terms]
    rarest = {t for _, t in sorted(weighted, reverse=True)[:keep]}
    return [t for w, t in weighted if w >= floor or t in rarest]
