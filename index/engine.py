"""The engine's one front door: ask, search, stats, rebuild, over the live index version.

An :class:`Engine` follows the data folder's ``CURRENT`` pointer: when another process (or a
reindex in this one) publishes a new version, the next call loads it and switches, without a
restart, while calls already running finish on the snapshot they started with.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date

import faiss

from index import versions
from index.answer import AnswerTuning, Composer
from index.build import build_index
from index.config import Settings
from index.embedder import Embedder
from index.entities import question_type, spacy_loader
from index.errors import IndexCorruptError, IndexMissingError, QuestionError
from index.followup import contextualize
from index.idf import idf_table
from index.models import Answer, ArticleHit, BuildProgress, BuildReport, IndexStats
from index.retrieval import Filters, RankedArticle, Retriever, Tuning
from index.store import Snapshot
from index.terms import content_terms
from index.timeparse import parse_time

log = logging.getLogger(__name__)

MIN_QUESTION, MAX_QUESTION = 3, 500

# One thread per search: FAISS's OpenMP pool costs more than a flat scan of a few 10k vectors.
faiss.omp_set_num_threads(1)


def check_question(question: str) -> str:
    """The stripped question, or a QuestionError saying what is wrong with it."""
    text = " ".join((question or "").split())
    if len(text) < MIN_QUESTION or not any(ch.isalnum() for ch in text):
        raise QuestionError(f"Please ask a question of at least {MIN_QUESTION} characters.")
    if len(text) > MAX_QUESTION:
        raise QuestionError(f"Please keep questions under {MAX_QUESTION} characters (yours has {len(text)}).")
    return text


class Engine:
    """Thread-safe: many questions may run at once in worker threads."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        tuning: Tuning | None = None,
        answer_tuning: AnswerTuning | None = None,
    ) -> None:
        self.settings = settings
        self.tuning = tuning or Tuning()
        self.answer_tuning = answer_tuning or AnswerTuning()
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._stamp: tuple[int, int] | None = None
        self._snap_lock = threading.Lock()

    # ---- loading -------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    self._embedder = Embedder(self.settings.model, self.settings.batch_size)
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
    def ask(
        self,
        question: str,
        *,
        k: int = 5,
        source: str | None = None,
        since: date | None = None,
        until: date | None = None,
        previous: str | None = None,
    ) -> Answer:
        started = time.perf_counter()
        question = check_question(question)
        snap = self.snapshot()
        query = contextualize(question, previous)
        vector = self.embedder.encode_query(query)
        terms = content_terms(query)
        time_hint = parse_time(query, self.settings.reference_date())
        ranked = Retriever(snap, self.tuning).articles(
            vector,
            terms,
            filters=Filters(source, since, until),
            time=time_hint,
            limit=max(k, self.answer_tuning.candidate_articles),
        )
        answer = Composer(snap, self.answer_tuning).compose(
            question, vector, terms, ranked, question_type(question), spacy_loader.get(), time_hint
        )
        return _with_ms(answer, started)

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        source: str | None = None,
        since: date | None = None,
        until: date | None = None,
        mode: str = "hybrid",
    ) -> list[ArticleHit]:
        query = check_question(query)
        snap = self.snapshot()
        vector = self.embedder.encode_query(query)
        ranked = Retriever(snap, self.tuning).articles(
            vector,
            content_terms(query),
            mode=mode,
            filters=Filters(source, since, until),
            time=parse_time(query, self.settings.reference_date()) if mode == "hybrid" else None,
            limit=k,
        )
        return [self._hit(snap, r) for r in ranked]

    def _hit(self, snap: Snapshot, ranked: RankedArticle) -> ArticleHit:
        row = snap.articles[ranked.idx]
        return ArticleHit(
            row.id, row.title, row.source, row.url, row.published, ranked.score, snap.chunk_text[ranked.chunk]
        )

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
        )

    def articles(self) -> list[ArticleHit]:
        """Every indexed article, newest first (undated last)."""
        snap = self.snapshot()
        hits = [ArticleHit(a.id, a.title, a.source, a.url, a.published, 0.0) for a in snap.articles]
        return sorted(hits, key=lambda h: (h.published is not None, h.published or date.min), reverse=True)

    def rebuild(
        self, *, full: bool = False, progress: Callable[[BuildProgress], None] | None = None
    ) -> BuildReport:
        """Build a new version from the corpus; this engine switches to it once it is published."""
        report = build_index(self.settings, full=full, progress=progress, embedder=lambda: self.embedder)
        self.snapshot()
        return report


def _with_ms(answer: Answer, started: float) -> Answer:
    from dataclasses import replace

    return replace(answer, ms=(time.perf_counter() - started) * 1000)
