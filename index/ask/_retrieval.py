"""Hybrid retrieval: dense + BM25 fused, date-aware, near-duplicates collapsed.

Fusion is a weighted sum, not reciprocal-rank fusion: on news questions equal-weight RRF loses to
dense retrieval alone, while a small BM25 weight keeps exact tokens (names, CVE ids, bill numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.ask._query import Filters, Query
from index.dates import TimeHint
from index.store import Snapshot, selective_terms
from index.terms import fts_query

MODES = ("hybrid", "bm25", "dense")


@dataclass(frozen=True)
class Tuning:
    """Retrieval knobs; defaults chosen on the evaluation sets (docs/quality.md)."""

    bm25_weight: float = 0.25
    candidates: int = 100
    window_boost: float = 0.15
    recency_boost: float = 0.1
    news_window_days: int = 7
    news_window_boost: float = 0.1
    future_penalty: float = 0.2
    length_penalty: float = 0.02
    duplicate_cosine: float = 0.95
    sentence_weight: float = 0.1
    sentence_candidates: int = 20
    rescore_candidates: int = 50
    """How many of the first stage's best chunks a second stage (index.ask._stages) re-scores."""


@dataclass(frozen=True)
class RankedArticle:
    """An article ranked for a query; ``dense`` is its best chunk's raw cosine (for abstention)."""

    idx: int
    score: float
    dense: float
    chunk: int
    duplicates: tuple[int, ...] = ()


def fuse(cosine: np.ndarray, bm25: np.ndarray, bm25_weight: float) -> np.ndarray:
    """Weighted sum of raw cosine and BM25 scaled by the best BM25 score among the candidates.

    Cosine stays on its own scale (comparable across questions, so a date boost means the same
    everywhere); BM25 has no fixed scale, so it is divided by the best match's score.
    """
    top = bm25.max() if len(bm25) else 0.0
    return (1 - bm25_weight) * cosine + bm25_weight * (bm25 / top if top > 0 else bm25)


class SecondStage(Protocol):
    """Re-scores the first stage's best candidate chunks (implementations: index.ask._stages)."""

    def rescore(self, snap: Snapshot, query: Query, ids: np.ndarray, bm25: np.ndarray) -> np.ndarray | None:
        """New scores for chunks ``ids`` (``bm25``: their raw BM25), or None when it cannot apply."""
        ...


class Retriever:
    """Ranks a snapshot's chunks and articles for one query vector and its terms.

    ``stages`` re-score the hybrid ranking's best ``tuning.rescore_candidates`` chunks in turn; the
    bm25 and dense modes stay first-stage only, as the evaluation's baselines.
    """

    def __init__(self, snap: Snapshot, tuning: Tuning | None = None, stages: Sequence[SecondStage] = ()) -> None:
        self.snap = snap
        self.tuning = tuning or Tuning()
        self.stages = tuple(stages)

    def allowed_articles(self, filters: Filters) -> np.ndarray | None:
        """Boolean mask over articles, or None when nothing is filtered."""
        if not filters.active():
            return None
        snap = self.snap
        mask = np.ones(len(snap.articles), dtype=bool)
        if filters.source:
            wanted = filters.source.casefold()
            matching = np.array([wanted in name.casefold() for name in snap.sources] or [False], dtype=bool)
            mask &= matching[snap.article_source] if len(snap.article_source) else mask
        if filters.since:
            mask &= snap.published_ordinal >= filters.since.toordinal()
        if filters.until:
            mask &= (snap.published_ordinal <= filters.until.toordinal()) & (snap.published_ordinal > 0)
        return mask

    def chunk_scores(self, query: Query, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate chunk ids with their fused score and raw cosine."""
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}")
        snap, n = self.snap, self.tuning.candidates
        vector = query.vector
        allowed = self.allowed_articles(query.filters)
        chunk_ok = None if allowed is None else allowed[snap.chunk_article]

        dense_ids = np.zeros(0, dtype=np.int64)
        if mode != "bm25" and len(snap.chunk_text):
            dense_ids, _ = snap.dense(vector, n, chunk_ok)
        bm25: dict[int, float] = {}
        match = fts_query(selective_terms(snap, list(query.terms))) if mode != "dense" else None
        if match:
            for cid, score in snap.fts(match, n * (4 if chunk_ok is not None else 1)):
                if chunk_ok is None or chunk_ok[cid]:
                    bm25[cid] = score
                if len(bm25) >= n:
                    break
        ids = np.unique(np.concatenate([dense_ids, np.fromiter(bm25, dtype=np.int64, count=len(bm25))]))
        if len(ids) == 0:
            return ids, np.zeros(0), np.zeros(0)
        cosine = snap.chunk_vectors[ids] @ vector
        lexical = np.array([bm25.get(int(c), 0.0) for c in ids])
        if mode == "dense":
            fused = cosine
        elif mode == "bm25":
            fused = lexical
        else:
            fused = fuse(cosine, lexical, self.tuning.bm25_weight)
            if self.stages:
                return self._second_stage(query, ids, fused, cosine, lexical)
        return ids, fused, cosine

    def _second_stage(
        self, query: Query, ids: np.ndarray, fused: np.ndarray, cosine: np.ndarray, lexical: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keep the first stage's best chunks and let each stage re-score them.

        Chunks below the cut are dropped rather than mixed in: their first-stage scores are on
        another scale. ``cosine`` stays the first stage's (abstention is calibrated on it).
        """
        keep = np.argsort(-fused, kind="stable")[: self.tuning.rescore_candidates]
        ids, fused, cosine, lexical = ids[keep], fused[keep], cosine[keep], lexical[keep]
        for stage in self.stages:
            scores = stage.rescore(self.snap, query, ids, lexical)
            if scores is not None:
                fused = np.asarray(scores, dtype=np.float64)
        return ids, fused, cosine

    def articles(self, query: Query, *, mode: str = "hybrid", limit: int = 10) -> list[RankedArticle]:
        """Articles best first, scored by their best chunk, adjusted for time, duplicates folded."""
        snap, tuning = self.snap, self.tuning
        ids, fused, cosine = self.chunk_scores(query, mode)
        if len(ids) == 0:
            return []
        best: dict[int, tuple[float, float, int]] = {}
        for cid, score, cos in zip(ids.tolist(), fused.tolist(), cosine.tolist(), strict=True):
            a = int(snap.chunk_article[cid])
            if a not in best or score > best[a][0]:
                best[a] = (score, max(cos, best.get(a, (0, -1.0, 0))[1]), cid)
            else:
                best[a] = (best[a][0], max(cos, best[a][1]), best[a][2])
        votes = self._sentence_votes(query, best) if mode == "hybrid" and tuning.sentence_weight > 0 else None
        article_ids = np.fromiter(best, dtype=np.int64, count=len(best))
        scores = np.array([best[a][0] for a in article_ids])
        if votes is not None:
            scores = scores + tuning.sentence_weight * votes[article_ids]
        if mode == "hybrid":
            counts = snap.article_chunk_count[article_ids]
            scores = scores - tuning.length_penalty * np.log1p(counts)
            scores = scores + self._time_boost(article_ids, query.time) + self._asked_on_boost(article_ids, query)
        order = np.argsort(-scores, kind="stable")
        ranked = [
            RankedArticle(int(article_ids[i]), float(scores[i]), best[int(article_ids[i])][1], best[int(article_ids[i])][2])
            for i in order
        ]
        return self._collapse(ranked, limit)

    def _sentence_votes(self, query: Query, best: dict[int, tuple[float, float, int]]) -> np.ndarray:
        """Each article's best sentence cosine (indexed by article), because one sentence that says it
        in other words should lift its article; articles found only this way join ``best`` as candidates
        scored by their best chunk's cosine."""
        snap, tuning = self.snap, self.tuning
        # Vectorised over the snapshot's sentence→article array: no per-question loop over articles
        # (above the in-RAM size only the candidates' own sentences are read).
        per_article = snap.best_sentence_per_article(query.vector, best)
        allowed = self.allowed_articles(query.filters)
        if allowed is not None:
            per_article[~allowed] = -1.0
        k = min(tuning.sentence_candidates, len(per_article))
        top = np.argpartition(-per_article, k - 1)[:k] if k else np.zeros(0, dtype=np.int64)
        for a in top.tolist():
            if a in best or per_article[a] <= 0:
                continue
            start = int(snap.article_chunk_start[a])
            cos = snap.chunk_vectors[start : start + int(snap.article_chunk_count[a])] @ query.vector
            j = int(np.argmax(cos))
            best[a] = ((1 - tuning.bm25_weight) * float(cos[j]), float(cos[j]), start + j)
        return per_article

    def _time_boost(self, article_ids: np.ndarray, time: TimeHint | None) -> np.ndarray:
        boost = np.zeros(len(article_ids))
        if time is None:
            return boost
        published = self.snap.published_ordinal[article_ids]
        dated = published > 0
        if time.window and time.start and time.end:
            inside = dated & (published >= time.start.toordinal()) & (published <= time.end.toordinal())
            boost += self.tuning.window_boost * inside
        if time.recent and dated.any():
            lo, hi = published[dated].min(), published[dated].max()
            if hi > lo:
                boost += self.tuning.recency_boost * np.where(dated, (published - lo) / (hi - lo), 0.0)
        return boost

    def _asked_on_boost(self, article_ids: np.ndarray, query: Query) -> np.ndarray:
        """For a question whose day is known: prefer the week before it, and distrust articles
        published after it (a question cannot be about news that did not exist yet).

        Skipped when the question names its own period ("in August 2021"): that wins.
        """
        boost = np.zeros(len(article_ids))
        if not query.dated or (query.time is not None and query.time.window):
            return boost
        published = self.snap.published_ordinal[article_ids]
        dated = published > 0
        asked = query.asked_on.toordinal()
        tuning = self.tuning
        recent = dated & (published >= asked - tuning.news_window_days) & (published <= asked + 1)
        boost += tuning.news_window_boost * recent
        boost -= tuning.future_penalty * (dated & (published > asked + 1))
        return boost

    def _collapse(self, ranked: list[RankedArticle], limit: int) -> list[RankedArticle]:
        """Fold republished copies of one story into the best-ranked copy."""
        vectors = self.snap.chunk_vectors
        kept: list[RankedArticle] = []
        dupes: dict[int, list[int]] = {}
        for item in ranked:
            if len(kept) >= limit:
                break
            twin = next(
                (k for k in kept if float(vectors[k.chunk] @ vectors[item.chunk]) >= self.tuning.duplicate_cosine),
                None,
            )
            if twin is None:
                kept.append(item)
            else:
                dupes.setdefault(twin.idx, []).append(item.idx)
        return [
            RankedArticle(k.idx, k.score, k.dense, k.chunk, tuple(dupes.get(k.idx, ()))) for k in kept
        ]
