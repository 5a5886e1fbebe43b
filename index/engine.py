"""The engine's one front door: every caller (the bot, the command line, the evaluation) uses it.

An :class:`Engine` follows the data folder's ``CURRENT`` pointer: when another process (or a
reindex in this one) publishes a new version, the next call loads it and switches, without a
restart, while calls already running finish on the snapshot they started with.

A question goes: :meth:`Engine.ask` → :func:`index.query.build_query` (one model call) →
:meth:`index.retrieval.Retriever.articles` → :meth:`index.answer.Composer.compose` → :class:`Answer`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Protocol

import faiss

from index import corpus_edit, versions
from index.answer import AnswerTuning, Composer
from index.build import ChunkEncoder, build_index
from index.embedder import Embedder
from index.entities import spacy_loader
from index.errors import IndexCorruptError, IndexMissingError
from index.idf import idf_table
from index.models import Answer, ArticleHit, BuildProgress, BuildReport, IndexStats
from index.query import Filters, Query, QueryEncoder, build_query, check_question
from index.retrieval import RankedArticle, Retriever, Tuning
from index.settings import Settings
from index.store import Snapshot

__all__ = ["Engine", "Filters", "check_question"]

log = logging.getLogger(__name__)

# One thread per search: FAISS's OpenMP pool costs more than a flat scan of a few 10k vectors.
faiss.omp_set_num_threads(1)

ProgressFn = Callable[[BuildProgress], None]


class EngineEncoder(ChunkEncoder, QueryEncoder, Protocol):
    """What the engine needs from a model: chunk encoding for builds, one vector per question.

    :class:`index.embedder.Embedder` is the real one; tests pass a deterministic fake.
    """


class Engine:
    """Thread-safe: many questions may run at once in worker threads."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: EngineEncoder | None = None,
        tuning: Tuning | None = None,
        answer_tuning: AnswerTuning | None = None,
    ) -> None:
        self.settings = settings
        self.tuning = tuning or Tuning()
        self.answer_tuning = answer_tuning or AnswerTuning()
        self._embedder: EngineEncoder | None = embedder
        self._embedder_lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._stamp: tuple[int, int] | None = None
        self._snap_lock = threading.Lock()
        log.info(
            "engine settings: model=%s today=%s threads=%s batch_size=%d data=%s corpus=%s",
            settings.model,
            settings.today or "(the real date)",
            settings.threads or "all",
            settings.batch_size,
            settings.data_dir,
            settings.corpus_dir,
        )

    # ---- loading -------------------------------------------------------------------------
    @property
    def embedder(self) -> EngineEncoder:
        """The model, loaded on first use (a no-change rebuild never loads it)."""
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    s = self.settings
                    self._embedder = Embedder(s.model, s.batch_size, s.threads)
        return self._embedder

    def warm(self) -> None:
        """Load the model, the index and (in the background) the NER model before the first question."""
        spacy_loader.start()
        self.embedder.encode_query("warm up")
        idf_table(self.snapshot())
        spacy_loader.get(wait=30.0)

    def snapshot(self) -> Snapshot:
        """The live version, reloaded when ``CURRENT`` has changed since the last call."""
        data_dir = self.settings.data_dir
        stamp = versions.pointer_stamp(data_dir)
        if self._snap is not None and stamp == self._stamp:
            return self._snap
        with self._snap_lock:
            stamp = versions.pointer_stamp(data_dir)
            if self._snap is not None and stamp == self._stamp:
                return self._snap
            name = versions.current_version(data_dir)
            if name is None:
                raise IndexMissingError(
                    f"No index in {data_dir} yet: run `policybot build` (or /index reindex) first."
                )
            try:
                snap = Snapshot(versions.versions_dir(data_dir) / name)
            except (IndexCorruptError, IndexMissingError) as exc:
                if self._snap is not None:
                    log.error("new index version unusable, still serving %s: %s", self._snap.version, exc)
                    self._stamp = stamp
                    return self._snap
                raise
            if snap.manifest.get("model") != self.settings.model:
                log.warning("index was built with %s; questions use %s", snap.manifest.get("model"), self.settings.model)
            self._snap, self._stamp = snap, stamp
            log.info("serving index version %s", snap.version)
            return snap

    # ---- questions -----------------------------------------------------------------------
    def query(
        self,
        question: str,
        *,
        filters: Filters | None = None,
        previous: str | None = None,
        asked_on: date | None = None,
    ) -> Query:
        """The question, checked and understood once (raises QuestionError when unusable)."""
        return build_query(
            question,
            self.embedder,
            asked_on=asked_on or self.settings.reference_date(),
            filters=filters,
            previous=previous,
        )

    def ask(
        self,
        question: str,
        *,
        filters: Filters | None = None,
        previous: str | None = None,
        asked_on: date | None = None,
        k: int = 5,
    ) -> Answer:
        """Answer a question with quoted, cited sentences, or say it is not in the index.

        ``previous`` is the last question of the conversation (for follow-ups); ``asked_on`` is
        the day it was asked (default: ``POLICYBOT_TODAY`` or today).
        """
        started = time.perf_counter()
        snap = self.snapshot()
        query = self.query(question, filters=filters, previous=previous, asked_on=asked_on)
        ranked = self.rank(snap, query, limit=max(k, self.answer_tuning.candidate_articles))
        answer = Composer(snap, self.answer_tuning).compose(query, ranked, spacy_loader.get())
        return replace(answer, ms=(time.perf_counter() - started) * 1000)

    def rank(self, snap: Snapshot, query: Query, *, mode: str = "hybrid", limit: int = 10) -> list[RankedArticle]:
        """Articles for a query, best first (shared by ``ask``, ``search`` and the calibration)."""
        return Retriever(snap, self.tuning).articles(query, mode=mode, limit=limit)

    def search(
        self,
        text: str,
        *,
        filters: Filters | None = None,
        asked_on: date | None = None,
        k: int = 10,
        mode: str = "hybrid",
    ) -> list[ArticleHit]:
        """Articles matching ``text``, best first; ``mode`` bm25/dense gives the evaluation baselines."""
        snap = self.snapshot()
        query = self.query(text, filters=filters, asked_on=asked_on)
        return [
            ArticleHit(snap.articles[r.idx].citation, r.score, snap.chunk_text[r.chunk])
            for r in self.rank(snap, query, mode=mode, limit=k)
        ]

    # ---- the index -----------------------------------------------------------------------
    def stats(self) -> IndexStats:
        snap = self.snapshot()
        dates = [a.published for a in snap.articles if a.published]
        counts = snap.manifest["counts"]
        return IndexStats(
            version=snap.version,
            articles=counts["articles"],
            chunks=counts["chunks"],
            sentences=counts["sentences"],
            newest_published=max(dates) if dates else None,
            oldest_published=min(dates) if dates else None,
            built_at=snap.manifest.get("built_at", ""),
            model=snap.manifest.get("model", ""),
            data_dir=str(self.settings.data_dir),
            build_running=versions.read_progress_text(self.settings.data_dir)
            if versions.read_progress(self.settings.data_dir)
            else "",
        )

    def articles(self) -> list[ArticleHit]:
        """Every indexed article, newest first (undated last)."""
        snap = self.snapshot()
        hits = [ArticleHit(a.citation, 0.0) for a in snap.articles]
        return sorted(
            hits, key=lambda h: (h.citation.published is not None, h.citation.published or date.min), reverse=True
        )

    def sources(self) -> list[str]:
        """The outlets in the live index, most articles first (for ``/ask source:`` completion)."""
        counts: dict[str, int] = {}
        for a in self.snapshot().articles:
            counts[a.citation.source] = counts.get(a.citation.source, 0) + 1
        return sorted(counts, key=lambda s: (-counts[s], s.casefold()))

    def has_index(self) -> bool:
        return versions.current_version(self.settings.data_dir) is not None

    def build(self, *, full: bool = False, progress: ProgressFn | None = None) -> BuildReport:
        """Build a new version from the corpus; this engine switches to it once it is published."""
        report = build_index(self.settings, full=full, progress=progress, embedder=lambda: self.embedder)
        self.snapshot()
        return report

    def ensure_built(self, progress: ProgressFn | None = None) -> BuildReport | None:
        """Build the index when there is none yet (a fresh checkout); None when one exists."""
        if self.has_index():
            return None
        return self.build(progress=progress)

    # ---- corpus edits (the caller reindexes afterwards) -------------------------------------
    def add_file(self, filename: str, data: bytes) -> Path:
        """Validate an article file (.md/.txt/.html) with the build's own parser and add it."""
        return corpus_edit.add_article(self.settings.corpus_dir, filename, data)

    def add_page(self, url: str, html: str) -> Path:
        """Extract the article from a fetched web page and add it as Markdown."""
        return corpus_edit.add_article_from_html(self.settings.corpus_dir, url, html)

    def remove_article(self, article_id: str) -> Path:
        """Move an article's file to the trash folder (never deleted); returns where it went."""
        return corpus_edit.remove_article(self.settings.corpus_dir, article_id, self.settings.trash_dir)
