"""Inverse document frequency of (lightly stemmed) words over a snapshot's chunks.

Used to weigh question words: a rare name says more about where the answer is than "attack".
"""

from __future__ import annotations

import math
import threading
import weakref

from index.store._snapshot import PRELOAD_ROWS, Snapshot
from index.terms import fts_query, stem


class IdfTable:
    """idf by stemmed word: every word's when the index is small, looked up (and kept) per word
    when it is large, from the document frequencies each segment stored when it was written."""

    def __init__(self, snap: Snapshot) -> None:
        self._snap = snap
        self.chunks = max(len(snap.chunk_alive), 1)
        self._lock = threading.Lock()
        self._table: dict[str, float] = {}
        self._common: dict[str, bool] = {}
        self._complete = len(snap.chunk_alive) <= PRELOAD_ROWS
        if self._complete:
            self._table = {t: self._idf(n) for t, n in snap.all_doc_freq().items()}

    def _idf(self, n: int) -> float:
        return math.log(1 + self.chunks / n)

    def too_common(self, term: str) -> bool:
        """Does the full-text index hold ``term`` in more than ``FTS_MAX_ROWS`` chunks? (Counted by
        FTS5 itself, titles included, which the idf's chunk texts are not; cached per snapshot.)"""
        if self.chunks <= FTS_MAX_ROWS:
            return False
        found = self._common.get(term)
        if found is None:
            match = fts_query([term])
            found = match is not None and self._snap.fts_rows(match, FTS_MAX_ROWS + 1) > FTS_MAX_ROWS
            with self._lock:
                self._common[term] = found
        return found

    def get(self, term: str, default: float) -> float:
        value = self._table.get(term)
        if value is not None or self._complete:
            return default if value is None else value
        n = self._snap.doc_freq([term]).get(term, 0)
        value = self._idf(n) if n else default
        with self._lock:
            if len(self._table) > 500_000:
                self._table.clear()
            self._table[term] = value
        return value


_CACHE: weakref.WeakKeyDictionary[Snapshot, IdfTable] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def idf_table(snap: Snapshot) -> IdfTable:
    """Made once per snapshot, on first use (``Engine.warm`` does it before any question)."""
    table = _CACHE.get(snap)
    if table is None:
        with _CACHE_LOCK:
            table = _CACHE.get(snap)
            if table is None:
                table = _CACHE[snap] = IdfTable(snap)
    return table


def unseen_idf(snap: Snapshot) -> float:
    """The weight of a word no chunk contains: as specific as a word can be."""
    return math.log(1 + max(len(snap.chunk_alive), 1))


FTS_MAX_ROWS = 5_000
"""A word in more chunks than this is never looked up: SQLite scores every match before ranking, so
on a large index such words would cost seconds while adding little to BM25 (docs/design/store-layout.md)."""


def selective_terms(snap: Snapshot, terms: list[str], max_share: float = 0.2, keep: int = 2) -> list[str]:
    """The terms worth a full-text lookup: words in more than ``max_share`` of chunks add little to
    BM25's ranking but make SQLite score most of the table, so they are left out (the rarest
    ``keep`` always stay, unless they are in more than ``FTS_MAX_ROWS`` chunks)."""
    table = idf_table(snap)
    floor = math.log(1 + 1 / max_share)
    unseen = unseen_idf(snap)
    weighted = [(table.get(stem(t), unseen), t) for t in terms]
    rarest = {t for _, t in sorted(weighted, reverse=True)[:keep]}
    return [t for w, t in weighted if (w >= floor or t in rarest) and not table.too_common(t)]
