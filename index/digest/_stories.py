"""The period's stories: articles of one event (close article vectors, published days apart at
most; docs/measurements/digest-clusters.md) are one story, with the wire copies folded into them
(``also_published_by``) as sources, and one sentence quoted verbatim from its most central article."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol

import numpy as np

from index.corpus import BODY
from index.digest._cluster import greedy_groups, unit
from index.digest._types import Digest, Story
from index.errors import ArticleError
from index.feeds import dedup
from index.store import Snapshot
from index.types import Citation

log = logging.getLogger(__name__)


class ArticleRow(Protocol):
    """What a digest reads of an indexed article (:class:`index.store.Snapshot`'s rows)."""

    @property
    def id(self) -> str: ...
    @property
    def published(self) -> date | None: ...

    @property
    def citation(self) -> Citation: ...
    @property
    def path(self) -> str: ...
    @property
    def sentence_start(self) -> int: ...
    @property
    def sentence_count(self) -> int: ...
    @property
    def chunk_start(self) -> int: ...
    @property
    def chunk_count(self) -> int: ...

STORY_THRESHOLD = 0.80
"""Cosine between an article's vector and a story's centroid from which they are one story."""
STORY_DAYS = 2
"""An article joins a story only when published at most this many days from its latest article."""
MAX_DAYS = 31
MAX_ARTICLES = 3000
"""Articles of the period read at most (the newest): bounds the work of a digest of a busy month."""
MAX_STORIES = 10
LEAD_SENTENCES = 12
"""The quote is chosen among an article's first sentences: news puts the event at the top."""
MAX_ALSO = 20
QUOTE_WORDS = (6, 60)


def period(days: int, today: date) -> tuple[date, date]:
    """The last ``days`` days up to ``today``, both included."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    return today - timedelta(days=days - 1), today


def make_digest(
    snap: Snapshot, corpus_dir: Path, since: date, until: date, *, limit: int = MAX_STORIES
) -> Digest:
    """The stories of articles published from ``since`` to ``until``: the ``limit`` most covered
    (then newest), listed newest first, then most covered."""
    rows = _articles_between(snap, since, until)
    if not rows:
        return Digest(since, until, (), 0, 0, snap.version)
    vectors = unit(np.stack([article_vector(snap, r.chunk_start, r.chunk_count) for r in rows]))
    # oldest first: a story's first report seeds its group, follow-ups join it
    order = sorted(range(len(rows)), key=lambda i: (rows[i].published or date.min, rows[i].id))
    days = [(r.published or since).toordinal() for r in rows]
    groups = greedy_groups(vectors, STORY_THRESHOLD, order, days=days, max_gap=STORY_DAYS)
    stories = [_story(snap, corpus_dir, [rows[i] for i in g], vectors[g]) for g in groups]
    kept = [s for s in stories if s is not None]
    chosen = sorted(kept, key=lambda s: (-s.outlets, -s.published.toordinal(), s.sources[0].article_id))[:limit]
    shown = sorted(chosen, key=lambda s: (-s.published.toordinal(), -s.outlets, s.sources[0].article_id))
    return Digest(since, until, tuple(shown), len(rows), len(kept) - len(shown), snap.version)


def _articles_between(snap: Snapshot, since: date, until: date) -> list[ArticleRow]:
    published = snap.published_ordinal
    hit = np.flatnonzero(snap.alive & (published >= since.toordinal()) & (published <= until.toordinal()))
    if len(hit) > MAX_ARTICLES:
        hit = hit[np.argsort(-published[hit], kind="stable")[:MAX_ARTICLES]]
    return [row for row in (snap.articles[int(i)] for i in hit) if row.chunk_count > 0]


def article_vector(snap: Snapshot, chunk_start: int, chunk_count: int) -> np.ndarray:
    """An article as one vector: the mean of its chunk vectors (not yet at unit length)."""
    chunks = np.asarray(snap.chunk_vectors[chunk_start : chunk_start + chunk_count], dtype=np.float32)
    return chunks.mean(axis=0)


def _story(snap: Snapshot, corpus_dir: Path, rows: list[ArticleRow], vectors: np.ndarray) -> Story | None:
    centroid = unit(vectors.mean(axis=0, keepdims=True))[0]
    central = np.argsort(-(vectors @ centroid), kind="stable")  # ties keep the oldest first
    for i in central.tolist():
        quote = _quote(snap, rows[i], centroid, lead=len(rows) == 1)
        if quote:
            lead = rows[i]
            break
    else:
        return None
    others = sorted((r for r in rows if r is not lead), key=lambda r: (r.published or date.min, r.id), reverse=True)
    sources: list[Citation] = []
    for row in [lead, *others]:
        sources.append(row.citation)
        sources.extend(_wire_copies(corpus_dir, row))
    newest = max(r.published for r in rows if r.published is not None)
    return Story(quote, tuple(_distinct(sources)), newest)


def _quote(snap: Snapshot, row: ArticleRow, centroid: np.ndarray, *, lead: bool) -> str:
    """One of the article's first body sentences, verbatim: its lead when it is the story's only
    article, else the one closest to the story's centroid (what the outlets' copies share)."""
    count = min(row.sentence_count, LEAD_SENTENCES)
    if count <= 0:
        return ""
    ids = list(range(row.sentence_start, row.sentence_start + count))
    texts = snap.sentence_text.many(ids)
    kinds = [snap.sentence_kind[i] for i in ids]
    vectors = np.asarray(snap.sentence_vectors[row.sentence_start : row.sentence_start + count], dtype=np.float32)
    scores = vectors @ centroid
    lo, hi = QUOTE_WORDS
    fit = [j for j in range(count) if kinds[j] == BODY and lo <= len(texts[j].split()) <= hi]
    if not fit:
        fit = [j for j in range(count) if texts[j].strip()]
    if not fit:
        return ""
    best = fit[0] if lead else max(fit, key=lambda j: (float(scores[j]), -j))
    return " ".join(texts[best].split())


def _wire_copies(corpus_dir: Path, row: ArticleRow) -> list[Citation]:
    """The outlets the feeds recorded in the file's ``also_published_by`` (read from its front
    matter; a file that cannot be read only loses these extra sources)."""
    path = Path(row.path)
    if not path.is_absolute() and not path.exists():
        path = corpus_dir / path.name
    try:
        meta, _ = dedup.read_front_matter(path)
    except (ArticleError, OSError) as exc:
        log.info("digest: no wire copies read for %s: %s", row.id, exc)
        return []
    entries = meta.get("also_published_by")
    out: list[Citation] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        source, url = entry.get("source"), entry.get("url")
        if isinstance(source, str) and isinstance(url, str) and url.lower().startswith(("http://", "https://")):
            out.append(Citation(row.id, row.citation.title, source.strip()[:200], url.strip(), row.published))
        if len(out) == MAX_ALSO:
            break
    return out


def _distinct(sources: list[Citation]) -> list[Citation]:
    seen: set[str] = set()
    out = []
    for c in sources:
        key = c.url or f"{c.article_id}:{c.source}"
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out
