"""Lazy views of a version across its segments: article rows, ids, texts, sentence kinds and vectors
by global id, read from each segment only when asked for, so a large index is never loaded whole."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Protocol, overload

import numpy as np

from index.errors import IndexCorruptError
from index.store._ann import VectorSet
from index.store._segment import KINDS, Segment
from index.types import Citation


@dataclass(frozen=True)
class ArticleRow:
    """An indexed article's metadata plus where its sentences and chunks sit in the global arrays."""

    idx: int
    citation: Citation
    path: str
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    content_hash: str
    sentence_start: int
    sentence_count: int
    chunk_start: int
    chunk_count: int

    @property
    def id(self) -> str:
        return self.citation.article_id

    @property
    def published(self) -> date | None:
        return self.citation.published


class Segmented(Protocol):
    """What the views read of a version (:class:`index.store._snapshot.Snapshot`)."""

    version: str
    segments: list[Segment]
    article_offsets: list[int]
    chunk_offsets: list[int]
    sentence_offsets: list[int]
    alive: np.ndarray
    articles: ArticleTable

    def segment_of(self, offsets: list[int], global_id: int) -> tuple[int, int]: ...


def article_row(r: tuple[Any, ...], idx: int, chunk_base: int, sentence_base: int) -> ArticleRow:
    """An ``articles`` table row, with its offsets moved into the version's global id space."""
    return ArticleRow(
        idx=idx,
        citation=Citation(r[1], r[3], r[4] or "", r[5] or "", date.fromisoformat(r[6]) if r[6] else None),
        path=r[2] or "",
        authors=tuple(json.loads(r[7] or "[]")), tags=tuple(json.loads(r[8] or "[]")),
        content_hash=r[9], sentence_start=sentence_base + r[10], sentence_count=r[11],
        chunk_start=chunk_base + r[12], chunk_count=r[13],
    )


def _position(i: int, n: int) -> int:
    """A sequence index made non-negative and checked, as a list would."""
    j = int(i) + n if int(i) < 0 else int(i)
    if not 0 <= j < n:
        raise IndexError(i)
    return j


class ArticleTable(Sequence[ArticleRow]):
    """Article rows by global idx (retired ones included, so arrays can be indexed by idx)."""

    _BLOCK = 16  # rows read per miss: neighbours are often asked for together, but not 256 of them

    def __init__(self, snap: Segmented, preload: bool) -> None:
        self._snap = snap
        self._n = int(snap.article_offsets[-1])
        self._rows: dict[int, ArticleRow] = {}
        self._lock = threading.Lock()
        self._bounded = not preload  # a lazy table is a cache: kept under 200,000 rows
        if preload:
            for i in range(len(snap.segments)):
                self._load(i, 0, snap.segments[i].counts["articles"])

    def _load(self, seg_index: int, first: int, last: int) -> None:
        snap = self._snap
        seg = snap.segments[seg_index]
        base = snap.article_offsets[seg_index]
        rows = {
            base + r[0]: article_row(r, base + r[0], snap.chunk_offsets[seg_index], snap.sentence_offsets[seg_index])
            for r in seg.article_rows(first, last)
        }
        with self._lock:
            if self._bounded and len(self._rows) > 200_000:
                self._rows.clear()
            self._rows.update(rows)

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> ArticleRow: ...
    @overload
    def __getitem__(self, i: slice) -> list[ArticleRow]: ...
    def __getitem__(self, i: int | slice) -> ArticleRow | list[ArticleRow]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        i = _position(i, self._n)
        row = self._rows.get(i)
        if row is None:
            s, local = self._snap.segment_of(self._snap.article_offsets, i)
            first = local - local % self._BLOCK
            self._load(s, first, first + self._BLOCK)
            row = self._rows[i]
        return row

    def __iter__(self) -> Iterator[ArticleRow]:
        for i in range(self._n):
            yield self[i]


class ArticleIndex(Mapping[str, ArticleRow]):
    """Live articles by id (a retired row's id belongs to its replacement, or to nothing)."""

    def __init__(self, snap: Segmented) -> None:
        self._snap = snap
        self._idx: dict[str, int] = {}
        for i, seg in enumerate(snap.segments):
            base = snap.article_offsets[i]
            alive = snap.alive[base : base + len(seg.ids)]
            for local, article_id in enumerate(seg.ids):
                if alive[local]:
                    if article_id in self._idx:
                        raise IndexCorruptError(f"index version {snap.version} serves article {article_id} twice")
                    self._idx[article_id] = base + local

    def __getitem__(self, article_id: str) -> ArticleRow:
        return self._snap.articles[self._idx[article_id]]

    def get_idx(self, article_id: str) -> int | None:
        return self._idx.get(article_id)

    def index_of(self, article_id: str) -> int:
        """The live article's global idx (KeyError when the version does not serve it)."""
        return self._idx[article_id]

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._idx

    def __iter__(self) -> Iterator[str]:
        return iter(self._idx)

    def __len__(self) -> int:
        return len(self._idx)


class TextColumn(Sequence[str]):
    """Chunk or sentence texts by global id: a list when small, read from SQLite when large."""

    def __init__(self, snap: Segmented, table: str, offsets: list[int], preload: bool) -> None:
        self._snap, self._table, self._offsets = snap, table, offsets
        self._n = offsets[-1]
        self._all: list[str] | None = None
        if preload:
            self._all = [t for seg in snap.segments for t in seg.all_texts(table)]
        self._cached = lru_cache(maxsize=50_000)(self._fetch_one)

    def _fetch_one(self, i: int) -> str:
        s, local = self._snap.segment_of(self._offsets, i)
        return self._snap.segments[s].texts(self._table, [local])[0]

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if self._all is not None:
            return self._all[i]
        if isinstance(i, slice):
            ids = list(range(*i.indices(self._n)))
            return self.many(ids)
        i = _position(i, self._n)
        return self._cached(i)

    def many(self, ids: list[int]) -> list[str]:
        """Texts of ``ids`` in one query per segment."""
        if self._all is not None:
            return [self._all[i] for i in ids]
        by_segment: dict[int, list[int]] = {}
        for i in ids:
            s, local = self._snap.segment_of(self._offsets, i)
            by_segment.setdefault(s, []).append(local)
        found: dict[int, str] = {}
        for s, locals_ in by_segment.items():
            base = self._offsets[s]
            for local, text in zip(locals_, self._snap.segments[s].texts(self._table, locals_), strict=True):
                found[base + local] = text
        return [found[i] for i in ids]

    def __iter__(self) -> Iterator[str]:
        if self._all is not None:
            return iter(self._all)
        return (t for seg in self._snap.segments for t in seg.all_texts(self._table))


class KindColumn(Sequence[str]):
    """Sentence kinds (body, caption…) by global id, from the one-byte codes of the layout."""

    def __init__(self, codes: np.ndarray) -> None:
        self._codes = codes

    def __len__(self) -> int:
        return int(self._codes.shape[0])

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [KINDS[c] for c in self._codes[i].tolist()]
        return KINDS[int(self._codes[i])]


class StackedRows:
    """Rows of several segments' vector sets as one matrix, gathered on demand as float32."""

    def __init__(self, parts: list[VectorSet], offsets: list[int], dim: int) -> None:
        self._parts, self._offsets, self.dim = parts, offsets, dim
        self.shape = (offsets[-1], dim)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: int | slice | np.ndarray | list[int]) -> np.ndarray:
        if isinstance(key, slice):
            ids = np.arange(*key.indices(self.shape[0]), dtype=np.int64)
            return self._gather(ids)
        if np.isscalar(key):
            return self._gather(np.array([int(key)], dtype=np.int64))[0]  # type: ignore[arg-type]
        return self._gather(np.asarray(key, dtype=np.int64))

    def _gather(self, ids: np.ndarray) -> np.ndarray:
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        if not len(ids):
            return out
        which = np.searchsorted(self._offsets, ids, side="right") - 1
        for s in np.unique(which).tolist():
            pick = which == s
            local = ids[pick] - self._offsets[s]
            if len(local) > 1 and np.all(np.diff(local) == 1):
                out[pick] = self._parts[s].rows(slice(int(local[0]), int(local[-1]) + 1))
            else:
                out[pick] = self._parts[s].rows(local)
        return out


def stack_rows(parts: list[VectorSet], offsets: list[int], dim: int) -> np.ndarray | StackedRows:
    """The one segment's float32 array when it lives in RAM (the common, small case), else a
    gatherer over the segments."""
    if len(parts) == 1 and not parts[0].mapped:
        return parts[0].matrix
    if not parts:
        return np.zeros((0, dim), dtype=np.float32)
    return StackedRows(parts, offsets, dim)  # no stacked copy: each segment keeps its own rows
