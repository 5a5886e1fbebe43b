"""A question's candidate sentences, scored once and shared by the re-ranking and the answer.

A sentence's fit (stored vector, the question's words it holds, the kind of answer asked for) does
not depend on which articles compete, so it is computed once per article and question.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.ask._entities import OTHER, answer_type_score
from index.ask._query import Query
from index.ask._retrieval import RankedArticle
from index.ask._tuning import AnswerTuning
from index.corpus import BODY, BYLINE, CAPTION, CREDIT, DATELINE
from index.store import Snapshot, idf_table, unseen_idf
from index.terms import stem, tokens

SINGLE_TOPIC_TERMS = 12
"""Questions with more distinct content words than this draw on several stories (MultiHop's do)."""


@dataclass(frozen=True)
class ScoredSentence:
    sid: int
    article: int
    score: float
    cosine: float


class Lexicon:
    """A snapshot's word weights: idf, the weight of a word no chunk has, and the outlets' words."""

    def __init__(self, snap: Snapshot) -> None:
        self.table = idf_table(snap)
        self.missing = unseen_idf(snap)
        self.outlets = outlet_words(snap)

    def idf(self, term: str) -> float:
        return self.table.get(term, self.missing)


@dataclass(frozen=True)
class _ArticleFit:
    """One article's sentences for one question: the fit before the article's share, and whether
    each is an aside (a caption or byline the question does not ask about)."""

    sids: list[int]
    cosines: list[float]
    fits: list[float]
    asides: list[bool]


class SentenceScores:
    """The sentences of a question's candidate articles, each article's fitted on first use."""

    def __init__(self, snap: Snapshot, tuning: AnswerTuning, lexicon: Lexicon, query: Query) -> None:
        self.snap, self.tuning, self.lexicon, self.query = snap, tuning, lexicon, query
        self.terms = list(query.terms)
        self.wanted = {stem(t) for t in self.terms}
        self.weight_total = sum(lexicon.idf(t) for t in self.wanted) or 1.0
        self.long = spans_stories(self.wanted)
        self._fits: dict[int, _ArticleFit] = {}

    def ranked(self, top: Sequence[RankedArticle], *, article_weight: float | None = None) -> list[ScoredSentence]:
        """Sentences of the ``top`` articles, best first: a sentence's fit plus its article's score
        relative to the best, because the article ranking is more reliable than one sentence and leaving
        the best article has to be earned; ``article_weight`` 0 gives the fit alone (re-ranking)."""
        tuning = self.tuning
        weight = tuning.long_article_weight if self.long else tuning.article_weight
        if article_weight is not None:
            weight = article_weight
        best_article_score = top[0].score
        out = []
        for rank in top:
            fit = self._fit(rank.idx)
            bonus = weight * (rank.score - best_article_score)
            for sid, cos, base, aside in zip(fit.sids, fit.cosines, fit.fits, fit.asides, strict=True):
                out.append(ScoredSentence(sid, rank.idx, self._total(base, bonus, aside), cos))
        out.sort(key=lambda s: -s.score)
        return out

    def best_fit(self, article: int) -> float:
        """The article's best sentence fit, without any share of its retrieval score."""
        fit = self._fit(article)
        return max(self._total(base, 0.0, aside) for base, aside in zip(fit.fits, fit.asides, strict=True))

    def _total(self, base: float, bonus: float, aside: bool) -> float:
        score = base + bonus
        if aside:
            score -= self.tuning.aside_penalty  # a caption or byline answers only when asked about
        return score

    def _fit(self, idx: int) -> _ArticleFit:
        fit = self._fits.get(idx)
        if fit is None:
            fit = self._fits[idx] = self._fit_article(idx)
        return fit

    def _fit_article(self, idx: int) -> _ArticleFit:
        snap, tuning, query, wanted, idf = self.snap, self.tuning, self.query, self.wanted, self.lexicon.idf
        lexical_weight, focus_weight = tuning.lexical_weight, tuning.focus_weight
        if self.long:
            lexical_weight, focus_weight = tuning.long_lexical_weight, 0.0
        row = snap.articles[idx]
        sids = np.arange(row.sentence_start, row.sentence_start + row.sentence_count)
        cosines = snap.sentence_vectors[sids] @ query.vector
        found_by_sentence = [{stem(t) for t in tokens(snap.sentence_text[sid])} & wanted for sid in sids.tolist()]
        focus = _focus_weights(found_by_sentence, idf)
        fits, asides = [], []
        for sid, cos, found in zip(sids.tolist(), cosines.tolist(), found_by_sentence, strict=True):
            text = snap.sentence_text[sid]
            lexical = sum(idf(t) for t in found) / self.weight_total
            focused = sum(focus[t] for t in found) / self.weight_total
            type_bonus = (
                tuning.type_weight * answer_type_score(text, query.qtype, wanted, query.counted)
                if query.qtype != OTHER
                else 0.0
            )
            fits.append(cos + lexical_weight * lexical + focus_weight * focused + type_bonus)
            asides.append(snap.sentence_kind[sid] != BODY and not asks_about(snap.sentence_kind[sid], self.terms))
        return _ArticleFit(sids.tolist(), cosines.tolist(), fits, asides)


def spans_stories(wanted: set[str]) -> bool:
    """A long question (more distinct stemmed words than SINGLE_TOPIC_TERMS) draws on several stories."""
    return len(wanted) > SINGLE_TOPIC_TERMS


def _focus_weights(found_by_sentence: list[set[str]], idf: Any) -> dict[str, float]:
    """Question words weighted by the share of the article's sentences lacking them: story words are
    everywhere and tell nothing, the asked-for word is in one or two; capped at the word's idf so an
    article lacking most of the question cannot lift its sentences above the one that has it."""
    n = len(found_by_sentence)
    df: dict[str, int] = {}
    for found in found_by_sentence:
        for t in found:
            df[t] = df.get(t, 0) + 1
    return {t: idf(t) * (1.0 - d / n) for t, d in df.items()}


_OUTLETS: weakref.WeakKeyDictionary[Snapshot, frozenset[str]] = weakref.WeakKeyDictionary()


def outlet_words(snap: Snapshot) -> frozenset[str]:
    """The (stemmed) words of every outlet name in the index, computed once per snapshot."""
    words = _OUTLETS.get(snap)
    if words is None:
        words = _OUTLETS[snap] = frozenset(stem(t) for name in snap.sources for t in tokens(name))
    return words


_ASKS_ABOUT = {
    CAPTION: {"photo", "photograph", "picture", "image", "caption", "pictured", "shown", "show"},
    BYLINE: {"wrote", "written", "author", "byline", "reporter", "reported"},
    CREDIT: {"credit", "agency", "wire", "source"},
    DATELINE: set(),
}


def asks_about(kind: str, terms: list[str]) -> bool:
    """Whether the question is about the photo (or who wrote the story): then captions (bylines) count."""
    return kind == DATELINE or bool(_ASKS_ABOUT.get(kind, set()) & set(terms))
