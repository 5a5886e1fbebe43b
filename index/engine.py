"""The engine's one front door: the bot, the command line and the evaluation all use it.

It follows the live pointer (the data folder's ``CURRENT``, or PostgreSQL's: a version published
elsewhere is served on the next call, without a restart) and composes the services: ``asker``, ``corpus``, ``digest``, ``feeds``, ``writer``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from datetime import date
from functools import partial
from pathlib import Path

import faiss
import numpy as np

from index.ask import AnswerTuning, Asker, Filters, Tuning, article_scores, check_question
from index.corpus import Corpus
from index.digest import Digester
from index.errors import BuildLockedError, DatabaseError, IndexCorruptError, IndexMissingError
from index.feeds import Feeds, question_vector
from index.generation import Writer
from index.models import Encoder, Models, Reranker, TextReader, ner
from index.settings import Settings
from index.store import (
    IndexHome,
    Snapshot,
    build_index,
    open_home,
    owed,
    owing,
    read_progress,
    read_progress_text,
    vector_limits,
)
from index.types import Answer, ArticleHit, BuildProgress, BuildReport, IndexStats

log = logging.getLogger(__name__)

# One thread per search: FAISS's OpenMP pool costs more than a flat scan of a few 10k vectors.
faiss.omp_set_num_threads(1)

ProgressFn = Callable[[BuildProgress], None]
_UNREACHABLE = object()
UNREACHABLE_LOG_EVERY = 60.0
OWN_BUILD_WAIT = 900.0
"""Seconds a build refused by this engine's own running build (a feed poll's, say) waits for it
before trying once more, instead of telling a moderator their edit failed."""


class Engine:
    """Thread-safe: many questions may run at once in worker threads.

    ``embedder``, ``rescorer``, ``reranker`` and ``reader`` replace the models the settings name (tests).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Encoder | None = None,
        tuning: Tuning | None = None,
        answer_tuning: AnswerTuning | None = None,
        rescorer: Encoder | None = None,
        reranker: Reranker | None = None,
        reader: TextReader | None = None,
    ) -> None:
        self._settings = settings
        models = Models(settings, embedder=embedder, rescorer=rescorer, reranker=reranker, reader=reader)
        self._compose(models, tuning, answer_tuning)
        self._snap: Snapshot | None = None
        self._stamp: Hashable | None = None
        self._snap_lock = threading.Lock()
        self._own_builds = threading.Condition()
        self._unreachable_logged = -UNREACHABLE_LOG_EVERY
        self._building = 0
        s = settings
        log.info("engine settings: model=%s today=%s threads=%s batch_size=%d data=%s corpus=%s", s.model,
                 s.today or "(the real date)", s.threads or "all", s.batch_size, s.data_dir, s.corpus_dir)

    def _compose(self, models: Models, tuning: Tuning | None, answer_tuning: AnswerTuning | None) -> None:
        s = self._settings
        old_home = getattr(self, "_home", None)
        self._home: IndexHome = open_home(s)  # the data folder's CURRENT, or PostgreSQL's pb_live
        if old_home is not None:
            old_home.close()
        self.models = models
        self.asker = Asker(s, models, tuning=tuning, answer_tuning=answer_tuning)
        self.corpus = Corpus(s.corpus_dir, s.trash_dir, partial(owing, s.data_dir))
        # the build looked up on each poll, so a subclass's or a test's build is the one that runs
        self.feeds = Feeds(s, lambda *, progress=None, changed=None: self.build(progress=progress, changed=changed))
        self.writer = Writer(s)
        self.digest = Digester(s, self.snapshot, lambda: self.embedder)

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        """Other settings (one object for the bot and its engine): the services are composed
        around them again; the models and the tunings already made stay."""
        extra = self.writer.extra_articles
        self._settings = settings
        self._compose(self.models.with_settings(settings), self.asker.tuning, self.asker.answer_tuning)
        self.writer.extra_articles = extra

    @property
    def embedder(self) -> Encoder:
        """The model, loaded on first use (a no-change rebuild never loads it)."""
        return self.models.embedder

    def warm(self) -> None:
        """Load the models, the index and (in the background) the NER model before the first question."""
        ner.start()
        self.embedder.encode_query("warm up")
        if self.models.rescorer is not None:
            self.models.rescorer.encode_query("warm up")
        self.asker.composer(self.snapshot())  # the snapshot's word weights
        ner.get(wait=30.0)

    def snapshot(self) -> Snapshot:
        """The live version, reloaded when the live pointer has changed since the last call; while
        the database cannot be reached, the version already loaded keeps serving."""
        home = self._home
        stamp = self._pointer_stamp()
        if self._snap is not None and stamp in (self._stamp, _UNREACHABLE):
            return self._snap
        with self._snap_lock:
            stamp = self._pointer_stamp()
            if self._snap is not None and stamp in (self._stamp, _UNREACHABLE):
                return self._snap
            name = home.live() if stamp is not None else None
            if name is None:
                raise IndexMissingError(
                    f"No index in {home.data_dir} yet: run `policybot build` (or /index reindex) first."
                )
            try:
                snap = Snapshot(home.local(name), vector_limits(self.settings))
                snap.load_indexes()
            except (IndexCorruptError, IndexMissingError, DatabaseError, OSError) as exc:
                if self._snap is not None:
                    log.error("new index version unusable, still serving %s: %s", self._snap.version, exc)
                    if not isinstance(exc, DatabaseError | OSError):  # a lost connection or a full disk: next call
                        self._stamp = stamp
                    return self._snap
                raise
            if snap.manifest.get("model") != self.settings.model:
                log.warning("index was built with %s; questions use %s", snap.manifest.get("model"), self.settings.model)
            self._snap, self._stamp = snap, stamp
            log.info("serving index version %s", snap.version)
            return snap

    def _pointer_stamp(self) -> Hashable | None:
        """The live pointer's stamp; ``_UNREACHABLE`` when the database cannot be reached but a version is loaded."""
        try:
            return self._home.stamp()
        except DatabaseError as exc:
            if self._snap is None:
                raise
            now = time.monotonic()
            if now - self._unreachable_logged >= UNREACHABLE_LOG_EVERY:  # once a minute, not once a question
                self._unreachable_logged = now
                log.warning("cannot check for a new index version, still serving %s: %s", self._snap.version, exc)
            return _UNREACHABLE

    # ---- questions -----------------------------------------------------------------------
    def ask(
        self,
        question: str,
        *,
        filters: Filters | None = None,
        previous: str | None = None,
        asked_on: date | None = None,
        k: int = 5,
        written: bool | None = None,
    ) -> Answer:
        """Answer a question with quoted, cited sentences, or say it is not in the index.

        ``previous``: the conversation's last question; ``asked_on``: default ``POLICYBOT_TODAY`` or today;
        ``written`` forces a written answer on or off, None follows ``POLICYBOT_ANSWERS``."""
        started = time.perf_counter()
        extra = self.writer.extra_articles if self.writer.can_write else 0  # dot products only: cheap
        answer = self.asker.ask(
            self.snapshot(), question, filters=filters, previous=previous, asked_on=asked_on, k=k,
            extra_articles=extra, started=started,
        )
        return self.writer.write(answer, started=started) if self.writer.writes(written) else answer

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
        return self.asker.search(self.snapshot(), text, filters=filters, asked_on=asked_on, k=k, mode=mode)

    def match_new_articles(self, query_text: str, article_ids: list[str]) -> list[tuple[str, float]]:
        """Score live-index articles against a saved question (``/watch``), best first; ids not in
        the live index are skipped. The score is the best chunk cosine (see index.ask)."""
        vector = question_vector(self.embedder, check_question(query_text))  # encoded once per model
        return article_scores(self.snapshot(), vector, article_ids)

    # ---- the index -----------------------------------------------------------------------
    def stats(self) -> IndexStats:
        snap = self.snapshot()
        dated = snap.published_ordinal[snap.alive & (snap.published_ordinal > 0)]
        dates = [date.fromordinal(int(dated.min())), date.fromordinal(int(dated.max()))] if len(dated) else []
        counts = snap.manifest["counts"]
        data_dir = self.settings.data_dir
        return IndexStats(
            version=snap.version,
            articles=counts["articles"],
            chunks=counts["chunks"],
            sentences=counts["sentences"],
            newest_published=max(dates) if dates else None,
            oldest_published=min(dates) if dates else None,
            built_at=snap.manifest.get("built_at", ""),
            model=snap.manifest.get("model", ""),
            data_dir=str(data_dir),
            build_running=read_progress_text(data_dir) if read_progress(data_dir) else "",
        )

    def articles(self) -> list[ArticleHit]:
        """Every indexed article, newest first (undated last)."""
        snap = self.snapshot()
        hits = [ArticleHit(a.citation, 0.0) for a in snap.live_articles()]
        return sorted(
            hits, key=lambda h: (h.citation.published is not None, h.citation.published or date.min), reverse=True
        )

    def sources(self) -> list[str]:
        """The outlets in the live index, most articles first (for ``/ask source:`` completion)."""
        snap = self.snapshot()
        per_code = np.bincount(snap.article_source[snap.alive], minlength=len(snap.sources))
        counts = {name: int(n) for name, n in zip(snap.sources, per_code, strict=True) if n and name}
        return sorted(counts, key=lambda s: (-counts[s], s.casefold()))

    def has_index(self) -> bool:
        return self._home.live() is not None

    def build(
        self, *, full: bool = False, progress: ProgressFn | None = None, changed: Sequence[Path] | None = None
    ) -> BuildReport:
        """Build a new version from the corpus; this engine switches to it once it is published.

        ``changed``: the files a caller wrote or removed, if known; the build then looks only at those and
        at what earlier edits owe instead of walking the corpus (:func:`index.store.build_index`)."""
        try:
            try:
                report = self._build_once(full, progress, changed)
            except BuildLockedError:
                if not self._waited_for_own_build():
                    raise
                report = self._build_once(full, progress, changed)
        except BuildLockedError as exc:
            if owed(self.settings.data_dir).records:
                raise BuildLockedError(f"{exc}. The change is saved: the next build indexes it.") from exc
            raise
        self.snapshot()
        return report

    def _build_once(self, full: bool, progress: ProgressFn | None, changed: Sequence[Path] | None) -> BuildReport:
        with self._own_builds:
            self._building += 1
        try:
            return build_index(
                self.settings, full=full, progress=progress, embedder=lambda: self.embedder,
                rescorer=self._build_rescorer, changed=changed,
            )
        finally:
            with self._own_builds:
                self._building -= 1
                self._own_builds.notify_all()

    def _waited_for_own_build(self) -> bool:
        """True when another build of this engine held the lock and has ended (so try again); False
        when the holder is someone else (another process, the CLI): that refusal stands."""
        with self._own_builds:
            if self._building <= 0:
                return False
            return self._own_builds.wait_for(lambda: self._building <= 0, timeout=OWN_BUILD_WAIT)

    def _build_rescorer(self) -> Encoder:
        rescorer = self.models.rescorer
        assert rescorer is not None  # the build asks only when POLICYBOT_RESCORE_MODEL is set
        return rescorer

    def ensure_built(self, progress: ProgressFn | None = None) -> BuildReport | None:
        """Build the index when there is none yet (a fresh checkout), or when the live one cannot be
        served (damaged, or written by an older format); None when a usable one exists."""
        if self.has_index():
            try:
                self.snapshot()
                return None
            except IndexCorruptError as exc:
                log.warning("live index unusable, building a new one: %s", exc)
        return self.build(progress=progress)
