"""The engine's one front door: every caller (the bot, the command line, the evaluation) uses it.

An :class:`Engine` follows the data folder's ``CURRENT`` pointer: when another process (or a
reindex in this one) publishes a new version, the next call loads it and switches, without a
restart, while calls already running finish on the snapshot they started with.

A question goes: :meth:`Engine.ask` → :func:`index.ask._query.build_query` (one model call) →
:meth:`index.ask._retrieval.Retriever.articles` → :meth:`index.ask._compose.Composer.compose` → :class:`Answer`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import faiss
import numpy as np

from index.ask._compose import AnswerTuning, Composer
from index.ask._matching import article_scores
from index.ask._query import Filters, Query, build_query, check_question
from index.ask._retrieval import RankedArticle, Retriever, SecondStage, Tuning
from index.ask._stages import CrossEncoderStage, VectorRescorer
from index.ask._tuning import profile_for, tuning_for
from index.ask._writing import EXTRA_ARTICLES, extra_sources, merge, passages
from index.corpus import _edit as corpus_edit
from index.errors import BuildLockedError, IndexCorruptError, IndexMissingError, ModelMismatchError
from index.feeds import FeedError, FeedState, FeedStore, install_starter_feeds, poll_due
from index.feeds import add_url as ingest_page
from index.feeds._live import FeedPoll, FreshArticle, fetch_options, fresh_article
from index.generation import Backend, make_backend, write_answer
from index.models import Encoder, Models, Reranker, ner
from index.settings import Settings
from index.store import _versions as versions
from index.store._build import build_index
from index.store._idf import idf_table
from index.store._segment import vector_limits
from index.store._snapshot import Snapshot
from index.types import Answer, ArticleHit, BuildProgress, BuildReport, IndexStats

__all__ = ["Engine", "FeedPoll", "FeedState", "Filters", "FreshArticle", "check_question"]

log = logging.getLogger(__name__)

# One thread per search: FAISS's OpenMP pool costs more than a flat scan of a few 10k vectors.
faiss.omp_set_num_threads(1)

ProgressFn = Callable[[BuildProgress], None]


class Engine:
    """Thread-safe: many questions may run at once in worker threads."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Encoder | None = None,
        tuning: Tuning | None = None,
        answer_tuning: AnswerTuning | None = None,
        rescorer: Encoder | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.settings = settings
        self.tuning = tuning or replace(
            tuning_for(settings.model, settings.bm25_weight), rescore_candidates=settings.rescore_candidates
        )
        self.answer_tuning = answer_tuning or AnswerTuning()
        self.models = Models(settings, embedder=embedder, rescorer=rescorer, reranker=reranker)
        self._snap: Snapshot | None = None
        self._stamp: tuple[int, int] | None = None
        self._snap_lock = threading.Lock()
        self._backend: Backend | None = None  # the language model, made on first use (written answers)
        self._backend_error = ""
        self._backend_made = False
        self._backend_lock = threading.Lock()
        self.extra_articles = EXTRA_ARTICLES  # next-ranked articles the model may also cite
        self._feed_store: FeedStore | None = None  # opened on first use (see the feeds section)
        self._feed_store_lock = threading.Lock()
        self._stage_warned: set[str] = set()
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
    def embedder(self) -> Encoder:
        """The model, loaded on first use (a no-change rebuild never loads it)."""
        return self.models.embedder

    def warm(self) -> None:
        """Load the model, the index and (in the background) the NER model before the first question."""
        ner.start()
        self.embedder.encode_query("warm up")
        if self.rescorer is not None:
            self.rescorer.encode_query("warm up")
        idf_table(self.snapshot())
        ner.get(wait=30.0)

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
                snap = Snapshot(versions.versions_dir(data_dir) / name, vector_limits(self.settings))
                snap.load_indexes()
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
            dated=asked_on is not None,
            rescorer=self.rescorer,
        )

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

        ``previous`` is the last question of the conversation (for follow-ups); ``asked_on`` is
        the day it was asked (default: ``POLICYBOT_TODAY`` or today). ``written`` forces a written
        answer on or off; None follows ``POLICYBOT_ANSWERS`` (see :meth:`write`).
        """
        started = time.perf_counter()
        snap = self.snapshot()
        self.check_model(snap)
        query = self.query(question, filters=filters, previous=previous, asked_on=asked_on)
        ranked = self.rank(snap, query, limit=max(k, self.answer_tuning.candidate_articles))
        composer = Composer(snap, self.answer_tuning)
        answer = composer.compose(query, ranked, ner.get())
        answer = replace(answer, quoted=answer.text, checker="off")
        if answer.answerable and self.can_write:  # dot products only: cheap enough to always keep
            scored, _ = composer.assess(query, ranked)
            extra = extra_sources(snap, answer, [r.idx for r in ranked], scored, articles=self.extra_articles)
            answer = replace(answer, extra=extra)
        if self.writes(written):
            answer = self.write(answer)
        return replace(answer, ms=(time.perf_counter() - started) * 1000)

    # ---- written answers (issue 10) --------------------------------------------------------
    @property
    def can_write(self) -> bool:
        """A language model is configured (``POLICYBOT_LLM_URL`` or ``POLICYBOT_LLM_GGUF``)."""
        return bool(self.settings.llm_url or self.settings.llm_gguf)

    def writes(self, written: bool | None = None) -> bool:
        """Whether an answer is written: forced by ``written``, else ``POLICYBOT_ANSWERS``; never
        without a model."""
        wanted = self.settings.answers == "written" if written is None else written
        return wanted and self.can_write

    def backend(self) -> Backend | None:
        """The language model, made once (a GGUF file loads on its first answer)."""
        if not self._backend_made:
            with self._backend_lock:
                if not self._backend_made:
                    s = self.settings
                    key = s.llm_key.get_secret_value() if s.llm_key else None
                    try:
                        gguf = str(s.llm_gguf) if s.llm_gguf else None
                        self._backend = make_backend(s.llm_url, s.llm_model, key, gguf, s.llm_threads)
                    except ValueError as exc:  # a configuration mistake: quoted answers keep working
                        self._backend_error = f"language model unavailable: {exc}"
                        log.error("%s", self._backend_error)
                    self._backend_made = True
        return self._backend

    def write(self, answer: Answer) -> Answer:
        """The written form of an extractive answer when the checker passes it, else the answer
        unchanged with the reason in ``checker``. Blocking (up to ``POLICYBOT_LLM_TIMEOUT``
        seconds); never raises. Nothing is generated for an abstention."""
        if not answer.answerable:
            return replace(answer, generated=False, checker="nothing to write from (no answer found)")
        backend = self.backend() if self.can_write else None
        if backend is None:
            return replace(answer, generated=False, checker=self._backend_error or "off")
        if answer.generated:
            return answer  # already written
        result = write_answer(answer.question, passages(answer), backend, budget_s=self.settings.llm_timeout)
        log.info("written answer %s (%s, %.0f ms)", result.checker, result.backend, result.ms)
        return merge(answer, result)

    def check_model(self, snap: Snapshot) -> None:
        """Refuse to compare a question's vector with vectors of another model: the scores would
        look normal and mean nothing."""
        built = snap.manifest.get("embedder") or {}
        mine = self.embedder.signature()
        if built and built != mine:
            differs = sorted(k for k in set(built) | set(mine) if built.get(k) != mine.get(k))
            raise ModelMismatchError(
                f"The index {snap.version} was built with {built.get('model')} ({', '.join(differs)} differ from "
                f"this engine's {mine.get('model')}). Rebuild it (`policybot build --full`) or set "
                "POLICYBOT_MODEL and its options to what built it."
            )

    def rank(self, snap: Snapshot, query: Query, *, mode: str = "hybrid", limit: int = 10) -> list[RankedArticle]:
        """Articles for a query, best first (shared by ``ask``, ``search`` and the calibration)."""
        stages = self.second_stages(snap)
        retriever = Retriever(snap, self.tuning, stages)
        if mode != "hybrid":  # the baselines stay single-stage
            return retriever.articles(query, mode=mode, limit=limit)
        ranked = retriever.articles(query, mode=mode, limit=max(limit, self.answer_tuning.rerank_articles))
        return Composer(snap, self.answer_tuning).rerank(query, ranked, staged=bool(stages))[:limit]

    # ---- the optional second stage (index.ask._stages) --------------------------------------------
    @property
    def rescorer(self) -> Encoder | None:
        """The re-scoring model (``POLICYBOT_RESCORE_MODEL``), loaded on first use; None when off."""
        return self.models.rescorer

    @property
    def reranker(self) -> Reranker | None:
        """The cross-encoder (``POLICYBOT_RERANKER``), loaded on first use; None when off."""
        return self.models.reranker

    def second_stages(self, snap: Snapshot) -> list[SecondStage]:
        """The configured second stages that can run on ``snap``.

        The re-scorer needs the index's stored vectors from the same model: without them (an index
        built before it was configured, or by another re-scoring model) the first stage serves
        alone and a warning says to rebuild, rather than comparing vectors of two models.
        """
        stages: list[SecondStage] = []
        rescorer = self.rescorer
        if rescorer is not None:
            if snap.rescorer is not None and snap.rescorer == rescorer.signature():
                stages.append(VectorRescorer(profile_for(rescorer.name).bm25_weight))
            elif snap.version not in self._stage_warned:
                self._stage_warned.add(snap.version)
                log.warning(
                    "index %s has no re-scoring vectors from %s (built with %s): first stage only; "
                    "run `policybot build` to add them",
                    snap.version,
                    rescorer.name,
                    (snap.rescorer or {}).get("model", "none"),
                )
        if self.reranker is not None:
            stages.append(CrossEncoderStage(self.reranker))
        return stages

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
        self.check_model(snap)
        query = self.query(text, filters=filters, asked_on=asked_on)
        return [
            ArticleHit(snap.articles[r.idx].citation, r.score, snap.chunk_text[r.chunk])
            for r in self.rank(snap, query, mode=mode, limit=k)
        ]

    # ---- the index -----------------------------------------------------------------------
    def stats(self) -> IndexStats:
        snap = self.snapshot()
        dated = snap.published_ordinal[snap.alive & (snap.published_ordinal > 0)]
        dates = [date.fromordinal(int(dated.min())), date.fromordinal(int(dated.max()))] if len(dated) else []
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
        return versions.current_version(self.settings.data_dir) is not None

    def build(
        self, *, full: bool = False, progress: ProgressFn | None = None, changed: Sequence[Path] | None = None
    ) -> BuildReport:
        """Build a new version from the corpus; this engine switches to it once it is published.

        ``changed``: the files a caller wrote or removed, when it knows them (feeds): the build then
        looks at those files only, instead of walking the corpus (see :func:`index.store._build.build_index`).
        """
        try:
            report = build_index(
                self.settings, full=full, progress=progress, embedder=lambda: self.embedder,
                rescorer=self._build_rescorer, changed=changed,
            )
        except BuildLockedError as exc:
            if versions.owed(self.settings.data_dir).records:
                raise BuildLockedError(f"{exc}. The change is saved: the next build indexes it.") from exc
            raise
        self.snapshot()
        return report

    def _build_rescorer(self) -> Encoder:
        rescorer = self.rescorer
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

    # ---- corpus edits (the caller reindexes afterwards) -------------------------------------
    # Each edit is owed to the next build (index.store._versions.owing) before it touches the corpus, so
    # a build refused by the lock, failed or killed never loses it: whichever build runs next
    # (an increment, a poll, the CLI) indexes it.
    def add_file(self, filename: str, data: bytes) -> Path:
        """Validate an article file (.md/.txt/.html) with the build's own parser and add it."""
        target = self.settings.corpus_dir / corpus_edit.safe_filename(filename)
        with versions.owing(self.settings.data_dir, [target]) as written:
            written.append(corpus_edit.add_article(self.settings.corpus_dir, filename, data))
        return written[-1]

    def add_page(self, url: str, html: str) -> Path:
        """Extract the article from a fetched web page and add it as Markdown."""
        with versions.owing(self.settings.data_dir, None) as written:
            written.append(corpus_edit.add_article_from_html(self.settings.corpus_dir, url, html))
        return written[-1]

    def remove_article(self, article_id: str) -> Path:
        """Move an article's file to the trash folder (never deleted); returns where it went."""
        source = corpus_edit.find_article_file(self.settings.corpus_dir, article_id)
        with versions.owing(self.settings.data_dir, [source]):
            return corpus_edit.move_to_trash(source, self.settings.trash_dir)

    # ---- feeds (issue 9): live news polled into the corpus, then an incremental build --------
    # The ingestion itself is index.feeds; these methods give the bot and the CLI one door to it.
    def feed_store(self) -> FeedStore:
        """The data folder's feed state (``<data>/feeds.sqlite``), opened once per engine."""
        if self._feed_store is None:
            with self._feed_store_lock:
                if self._feed_store is None:
                    self._feed_store = FeedStore.open(self.settings.data_dir)
        return self._feed_store

    def feeds(self) -> list[FeedState]:
        """Every feed with its state (last success, last error, items seen, articles added), by name."""
        return self.feed_store().list_feeds()

    def add_feed(self, url: str, *, name: str | None = None, every_minutes: int = 60) -> FeedState:
        """Add a feed (due at once); FeedError when the name or URL is taken or the interval too short."""
        url = url.strip()
        if not url.lower().startswith(("http://", "https://")):
            raise FeedError("a feed URL must start with http:// or https://")
        return self.feed_store().add_feed(url, name=name or url, every_minutes=every_minutes)

    def remove_feed(self, name_or_url: str) -> FeedState:
        """Stop polling a feed; its articles stay in the corpus and its items stay seen."""
        return self.feed_store().remove_feed(name_or_url)

    def enable_feed(self, name_or_url: str, enabled: bool = True) -> FeedState:
        """Turn a feed on (due at once) or off."""
        return self.feed_store().update_feed(name_or_url, enabled=enabled)

    def install_starter_feeds(self) -> list[str]:
        """Add the shipped starter list (all off); returns the names that were new."""
        return install_starter_feeds(self.feed_store())

    def poll_feeds(
        self, *, now: datetime | None = None, progress: ProgressFn | None = None, build: bool = False
    ) -> FeedPoll:
        """Poll every due feed, then build incrementally when the corpus changed (or ``build``).

        Never raises for a bad feed or page (they are in the report). When another build holds the
        lock, the poll's articles stay in the corpus, owed to the next build, and ``build_error``
        says so. The live index keeps serving throughout.
        """
        # Owed from before this poll writes anything until a build indexes it: a poll killed after
        # writing articles (or during its build) leaves the record, so the next poll builds even
        # though its own items were all seen already (tests/reliability: crash harness).
        with versions.owing(self.settings.data_dir, None) as written:
            report = poll_due(self.feed_store(), self.settings.corpus_dir, now=now, options=fetch_options(self.settings))
            written += [a.path for a in report.new_articles] + [c.path for c in report.folded]
        result = FeedPoll(report, [fresh_article(a) for a in report.new_articles])
        if report.changed or build or versions.owed(self.settings.data_dir).records:
            # the build adds whatever is owed (this poll's files, changes whose builds were refused)
            try:
                result.build = self.build(progress=progress, changed=None if build else written)
            except BuildLockedError as exc:
                result.build_error = str(exc)
                log.warning("feeds: new articles not indexed yet: %s", exc)
        return result

    def add_url(self, url: str) -> Path:
        """Fetch one page safely, extract it and add it (or find the article it duplicates); the
        caller reindexes. Raises FetchError or ArticleError with a short reason."""
        with versions.owing(self.settings.data_dir, None) as written:
            written.append(
                ingest_page(url, self.settings.corpus_dir, self.feed_store(), options=fetch_options(self.settings))
            )
        return written[-1]

    def next_feed_due(self) -> datetime | None:
        """When the next enabled feed is due (None when no feed is enabled)."""
        due = [f.next_due for f in self.feeds() if f.enabled]
        return min(due) if due else None

    def match_new_articles(self, query_text: str, article_ids: list[str]) -> list[tuple[str, float]]:
        """Score live-index articles against a saved question (``/watch``), best first; ids not in
        the live index are skipped. The score is the best chunk cosine (see index.ask._matching)."""
        vector = self.embedder.encode_query(check_question(query_text))
        return article_scores(self.snapshot(), vector, article_ids)
