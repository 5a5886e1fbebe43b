"""The /ask path in one pass: a question understood once, ranked, re-ranked and composed.

The question's sentence scores are computed once and shared by the re-ranking and the answer, and
the snapshot's word weights once per snapshot, so an answer costs one climb through the stages.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date

from index.ask._compose import Composer, Groups, ShortAnswer
from index.ask._query import Filters, Query, build_query
from index.ask._retrieval import RankedArticle, Retriever, SecondStage, Tuning
from index.ask._sentences import ScoredSentence, SentenceScores
from index.ask._short import UNREAD, StoryReading, read_stories
from index.ask._stages import CrossEncoderStage, VectorRescorer
from index.ask._tuning import AnswerTuning, profile_for, tuning_for
from index.errors import ModelMismatchError
from index.models import Models, ner
from index.settings import Settings
from index.store import Snapshot
from index.types import Answer, ArticleHit

log = logging.getLogger(__name__)


class Asker:
    """Answers and searches over a snapshot; thread-safe (many questions may run at once)."""

    def __init__(
        self,
        settings: Settings,
        models: Models,
        *,
        tuning: Tuning | None = None,
        answer_tuning: AnswerTuning | None = None,
    ) -> None:
        self.settings = settings
        self.models = models
        self.tuning = tuning or replace(
            tuning_for(settings.model, settings.bm25_weight), rescore_candidates=settings.rescore_candidates
        )
        self.answer_tuning = answer_tuning or AnswerTuning()
        self._composer: Composer | None = None  # the last snapshot's (only: a composer holds its snapshot)
        self._warned: set[str] = set()

    def ask(
        self,
        snap: Snapshot,
        question: str,
        *,
        filters: Filters | None = None,
        previous: str | None = None,
        asked_on: date | None = None,
        k: int = 5,
        extra_articles: int = 0,
        started: float | None = None,
    ) -> Answer:
        """The extractive answer (see :meth:`Composer.compose` for ``extra_articles`` and ``started``)."""
        self.check_model(snap)
        query = self.query(question, filters=filters, previous=previous, asked_on=asked_on)
        composer = self.composer(snap)
        sentences = composer.sentences(query)
        ranked = self._rank(snap, query, "hybrid", max(k, self.answer_tuning.candidate_articles), sentences)
        return composer.compose(
            query,
            ranked,
            ner.get(),
            sentences=sentences,
            extra_articles=extra_articles,
            started=started,
            short=self._short_answer(snap, query),
        )

    def search(
        self,
        snap: Snapshot,
        text: str,
        *,
        filters: Filters | None = None,
        asked_on: date | None = None,
        k: int = 10,
        mode: str = "hybrid",
    ) -> list[ArticleHit]:
        """Articles matching ``text``, best first; ``mode`` bm25/dense gives the evaluation baselines."""
        self.check_model(snap)
        query = self.query(text, filters=filters, asked_on=asked_on)
        return [
            ArticleHit(snap.articles[r.idx].citation, r.score, snap.chunk_text[r.chunk])
            for r in self.rank(snap, query, mode=mode, limit=k)
        ]

    def _short_answer(self, snap: Snapshot, query: Query) -> ShortAnswer:
        """The reader's step for a composed answer and its other stories: it loads the reader on the
        first answer that needs one, and reads nothing when ``POLICYBOT_READER_MODEL=off``."""

        def read(groups: Groups, others: list[ScoredSentence]) -> tuple[StoryReading, list[StoryReading]]:
            reader = self.models.reader
            if reader is None:
                return UNREAD, [UNREAD] * len(others)
            return read_stories(reader, snap, query.text, groups, others)

        return read

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
            self.models.embedder,
            asked_on=asked_on or self.settings.reference_date(),
            filters=filters,
            previous=previous,
            dated=asked_on is not None,
            rescorer=self.models.rescorer,
        )

    def rank(self, snap: Snapshot, query: Query, *, mode: str = "hybrid", limit: int = 10) -> list[RankedArticle]:
        """Articles for a query, best first (shared by ``ask``, ``search`` and the calibration)."""
        return self._rank(snap, query, mode, limit, None)

    def _rank(
        self, snap: Snapshot, query: Query, mode: str, limit: int, sentences: SentenceScores | None
    ) -> list[RankedArticle]:
        stages = self.second_stages(snap)
        retriever = Retriever(snap, self.tuning, stages)
        if mode != "hybrid":  # the baselines stay single-stage
            return retriever.articles(query, mode=mode, limit=limit)
        ranked = retriever.articles(query, mode=mode, limit=max(limit, self.answer_tuning.rerank_articles))
        composer = self.composer(snap)
        return composer.rerank(query, ranked, staged=bool(stages), sentences=sentences)[:limit]

    def composer(self, snap: Snapshot) -> Composer:
        """The snapshot's composer (its word weights), made once per snapshot served."""
        composer = self._composer
        if composer is None or composer.snap is not snap:
            composer = self._composer = Composer(snap, self.answer_tuning)
        return composer

    def check_model(self, snap: Snapshot) -> None:
        """Refuse to compare a question's vector with vectors of another model: the scores would
        look normal and mean nothing."""
        built = snap.manifest.get("embedder") or {}
        mine = self.models.embedder.signature()
        if built and built != mine:
            differs = sorted(k for k in set(built) | set(mine) if built.get(k) != mine.get(k))
            raise ModelMismatchError(
                f"The index {snap.version} was built with {built.get('model')} ({', '.join(differs)} differ from "
                f"this engine's {mine.get('model')}). Rebuild it (`policybot build --full`) or set "
                "POLICYBOT_MODEL and its options to what built it."
            )

    def second_stages(self, snap: Snapshot) -> list[SecondStage]:
        """The configured second stages that can run on ``snap``: the re-scorer needs the index's stored
        vectors from its own model, so without them the first stage serves alone and a warning says to
        rebuild, rather than comparing vectors of two models."""
        stages: list[SecondStage] = []
        rescorer = self.models.rescorer
        if rescorer is not None:
            if snap.rescorer is not None and snap.rescorer == rescorer.signature():
                stages.append(VectorRescorer(profile_for(rescorer.name).bm25_weight))
            elif snap.version not in self._warned:
                self._warned.add(snap.version)
                log.warning(
                    "index %s has no re-scoring vectors from %s (built with %s): first stage only; "
                    "run `policybot build` to add them",
                    snap.version,
                    rescorer.name,
                    (snap.rescorer or {}).get("model", "none"),
                )
        reranker = self.models.reranker
        if reranker is not None:
            stages.append(CrossEncoderStage(reranker))
        return stages
