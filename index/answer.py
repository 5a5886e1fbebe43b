"""Extractive answers: the sentences that answer the question, from the best article, with sources.

Every sentence already has a vector (stored at build time), so composing an answer costs dot
products over the candidate articles' sentences, never another pass through the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.entities import OTHER, answer_type_score, mark
from index.models import Answer, Source
from index.retrieval import RankedArticle
from index.store import Snapshot
from index.terms import stem, tokens

NOT_FOUND = "I could not find this in the indexed articles."


@dataclass(frozen=True)
class AnswerTuning:
    """Sentence scoring and abstention knobs; calibrated on the evaluation sets (see README)."""

    candidate_articles: int = 4
    lexical_weight: float = 0.35
    type_weight: float = 0.12
    article_weight: float = 0.15
    support_margin: float = 0.12
    max_sentences: int = 3
    extra_article_margin: float = 0.03
    # abstention: logistic model over (best sentence cosine, best chunk cosine, term coverage)
    abstain_weights: tuple[float, float, float] = (6.0, 4.0, 4.0)
    abstain_bias: float = -7.0
    abstain_threshold: float = 0.5


@dataclass(frozen=True)
class ScoredSentence:
    sid: int
    article: int
    score: float
    cosine: float


class Composer:
    """Turns ranked articles into an :class:`Answer` for one question."""

    def __init__(self, snap: Snapshot, tuning: AnswerTuning | None = None) -> None:
        self.snap = snap
        self.tuning = tuning or AnswerTuning()

    def compose(
        self,
        question: str,
        vector: np.ndarray,
        terms: list[str],
        ranked: list[RankedArticle],
        qtype: str,
        nlp: Any = None,
    ) -> Answer:
        if not ranked:
            return Answer(question, False, NOT_FOUND)
        tuning = self.tuning
        top = ranked[: tuning.candidate_articles]
        scored = self._score_sentences(vector, terms, top, qtype)
        best = scored[0]
        primary = next(r for r in top if r.idx == best.article)
        confidence = self.confidence(best.cosine, primary.dense, self.coverage(terms, primary.idx))
        if confidence < tuning.abstain_threshold:
            return Answer(question, False, NOT_FOUND, confidence=confidence)

        chosen = [best]
        for s in scored[1:]:
            if len(chosen) >= tuning.max_sentences:
                break
            if s.article == best.article and s.score >= best.score - tuning.support_margin:
                chosen.append(s)
        chosen.sort(key=lambda s: s.sid)
        extra = next(
            (
                s
                for s in scored
                if s.article != best.article
                and s.score >= best.score - tuning.extra_article_margin
                and self._adds_something(s, chosen)
            ),
            None,
        )
        groups = [(best.article, chosen)] + ([(extra.article, [extra])] if extra else [])
        parts, sources = [], []
        for number, (article_idx, sentences) in enumerate(groups, 1):
            text = " ".join(mark(self.snap.sentence_text[s.sid], qtype, nlp) for s in sentences)
            parts.append(f"{text} [{number}]")
            row = self.snap.articles[article_idx]
            sources.append(
                Source(
                    article_id=row.id,
                    title=row.title,
                    source=row.source,
                    url=row.url,
                    published=row.published,
                    quote=" ".join(self.snap.sentence_text[s.sid] for s in sentences),
                    score=max(s.score for s in sentences),
                )
            )
        return Answer(question, True, " ".join(parts), tuple(sources), confidence=confidence)

    def _score_sentences(
        self, vector: np.ndarray, terms: list[str], top: list[RankedArticle], qtype: str
    ) -> list[ScoredSentence]:
        snap, tuning = self.snap, self.tuning
        wanted = {stem(t) for t in terms}
        idf = self.snap_idf()
        idf_missing = unseen_idf(self.snap)
        weight_total = sum(idf.get(t, idf_missing) for t in wanted) or 1.0
        best_article_score = top[0].score
        out = []
        for rank in top:
            row = snap.articles[rank.idx]
            sids = np.arange(row.sentence_start, row.sentence_start + row.sentence_count)
            cosines = snap.sentence_vectors[sids] @ vector
            article_bonus = tuning.article_weight * (rank.score - best_article_score)
            for sid, cos in zip(sids.tolist(), cosines.tolist(), strict=True):
                text = snap.sentence_text[sid]
                found = {stem(t) for t in tokens(text)} & wanted
                lexical = sum(idf.get(t, idf_missing) for t in found) / weight_total
                type_bonus = tuning.type_weight * answer_type_score(text, qtype) if qtype != OTHER else 0.0
                score = cos + tuning.lexical_weight * lexical + type_bonus + article_bonus
                out.append(ScoredSentence(sid, rank.idx, score, cos))
        out.sort(key=lambda s: -s.score)
        return out

    def _adds_something(self, candidate: ScoredSentence, chosen: list[ScoredSentence]) -> bool:
        vectors = self.snap.sentence_vectors
        return all(float(vectors[candidate.sid] @ vectors[c.sid]) < 0.9 for c in chosen)

    def coverage(self, terms: list[str], article_idx: int) -> float:
        """IDF-weighted share of the question's terms that the article contains (title included)."""
        wanted = {stem(t) for t in terms}
        if not wanted:
            return 0.0
        row = self.snap.articles[article_idx]
        text = " ".join(
            [row.title, *self.snap.sentence_text[row.sentence_start : row.sentence_start + row.sentence_count]]
        )
        present = {stem(t) for t in tokens(text)} & wanted
        idf = self.snap_idf()
        idf_missing = unseen_idf(self.snap)
        return sum(idf.get(t, idf_missing) for t in present) / sum(idf.get(t, idf_missing) for t in wanted)

    def confidence(self, sentence_cos: float, chunk_cos: float, coverage: float) -> float:
        a, b, c = self.tuning.abstain_weights
        z = a * sentence_cos + b * chunk_cos + c * coverage + self.tuning.abstain_bias
        return 1.0 / (1.0 + math.exp(-z))

    def snap_idf(self) -> dict[str, float]:
        return idf_table(self.snap)


def idf_table(snap: Snapshot) -> dict[str, float]:
    """Stemmed-token IDF over chunks, computed once per snapshot on first use."""
    cached = getattr(snap, "_idf", None)
    if cached is not None:
        return cached
    df: dict[str, int] = {}
    for text in snap.chunk_text:
        for t in {stem(t) for t in tokens(text)}:
            df[t] = df.get(t, 0) + 1
    n = max(len(snap.chunk_text), 1)
    table = {t: math.log(1 + n / c) for t, c in df.items()}
    snap._idf = table  # type: ignore[attr-defined]
    return table


def unseen_idf(snap: Snapshot) -> float:
    """A word no chunk contains is as specific as a word can be."""
    return math.log(1 + max(len(snap.chunk_text), 1))
