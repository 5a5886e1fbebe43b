"""Extractive answers: the sentences that answer the question, from the best article, with sources.

Every sentence has a vector stored at build time, so an answer costs dot products over the
candidates' sentences; abstaining is a fitted model over how well they support an answer.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass
from typing import Any

import numpy as np

from index.ask._entities import OTHER, SPAN_KINDS, answer_type_score, entity_spans, only_asked_words
from index.ask._extra import extra_sources
from index.ask._query import Query
from index.ask._retrieval import RankedArticle
from index.ask._sentences import SINGLE_TOPIC_TERMS, Lexicon, ScoredSentence, SentenceScores, spans_stories
from index.ask._short import UNREAD, StoryReading
from index.ask._stories import MAX_ALTERNATIVES, other_stories
from index.ask._tuning import AnswerTuning
from index.dates import CALENDAR_WORDS, TimeHint
from index.store import Snapshot
from index.terms import STOPWORDS, cased_tokens, stem, tokens
from index.types import Answer, Source, Span

NOT_FOUND = "I could not find this in the indexed articles."

Groups = list[tuple[int, list[ScoredSentence]]]
"""The sentences an answer quotes, grouped by article, best article first."""
ShortAnswer = Callable[[Groups, list[ScoredSentence]], tuple[StoryReading, list[StoryReading]]]
"""Reads, in one batch, a composed answer's short answer from its quoted sentences and each other
story's from its best sentence (index.ask._short.read_stories)."""


@dataclass(frozen=True)
class Evidence:
    """How well the chosen sentences support an answer: the abstention model's inputs, mostly shares
    and yes/no features that mean the same on any corpus and model, so a fit on several sets transfers."""

    sentence_cosine: float  # best sentence's cosine to the question (model-dependent scale)
    chunk_cosine: float  # best chunk of the chosen article (model-dependent scale)
    coverage: float  # idf-weighted share of the question's words found in the chosen article
    missing_idf: float  # the most specific question word the article lacks (0 = none lacks, 1 = unseen)
    time_mismatch: float  # the question names a period the article neither dates from nor mentions
    sentence_coverage: float  # share of the question's words in the best sentence and its neighbours
    top_coverage: float  # share of the question's words found across the top three articles
    type_missing: float  # a who/when/where/how-many question whose best sentences hold no such answer
    name_missing: float  # a name or number of the question that the chosen article never mentions
    cosine_margin: float  # how far the best sentence stands out from the other candidates (z-score)
    name_missing_top: float  # a name or number of the question that none of the top three articles mentions
    missing_idf_top: float  # the most specific question word none of the top three articles has

    def as_array(self) -> np.ndarray:
        """The model's inputs (every field above)."""
        return np.array(astuple(self), dtype=np.float64)

    def about_another_story(self, question_terms: int) -> bool:
        """A short single-topic question naming something the article never mentions, with the quote
        holding few of its words: an answer from an unrelated story (long questions are exempt)."""
        return question_terms <= SINGLE_TOPIC_TERMS and self.name_missing >= 1.0 and self.sentence_coverage < 0.4


class Composer:
    """Turns a question's ranked articles into its :class:`Answer`; one per snapshot (stateless
    per question: the question's sentence scores travel in :class:`SentenceScores`)."""

    def __init__(self, snap: Snapshot, tuning: AnswerTuning | None = None) -> None:
        self.snap = snap
        self.tuning = tuning or AnswerTuning()
        self.lexicon = Lexicon(snap)

    def sentences(self, query: Query) -> SentenceScores:
        """The question's sentence scores, to share between :meth:`rerank` and :meth:`compose`."""
        return SentenceScores(self.snap, self.tuning, self.lexicon, query)

    def rerank(
        self,
        query: Query,
        ranked: list[RankedArticle],
        *,
        staged: bool = False,
        sentences: SentenceScores | None = None,
    ) -> list[RankedArticle]:
        """The first stage's best articles again, each lifted by its best sentence's fit, because one
        sentence that says exactly what was asked beats chunks merely about the story; scores stay the
        first stage's, and long or dated questions (or a stronger ``staged`` second stage) keep its order."""
        tuning = self.tuning
        weight = tuning.staged_rerank_weight if staged else tuning.rerank_weight
        if weight <= 0 or len(ranked) < 2 or spans_stories({stem(t) for t in query.terms}):
            return ranked
        if query.time is not None:  # "in March 2022", "latest": the dates decide, and sentences know none
            return ranked
        scores = sentences if sentences is not None else self.sentences(query)
        head = ranked[: tuning.rerank_articles]
        fit = {r.idx: scores.best_fit(r.idx) for r in head}
        lifted = sorted(head, key=lambda r: -(r.score + weight * fit[r.idx]))
        return lifted + ranked[len(head) :]

    def compose(
        self,
        query: Query,
        ranked: list[RankedArticle],
        nlp: Any = None,
        *,
        sentences: SentenceScores | None = None,
        extra_articles: int = 0,
        started: float | None = None,
        short: ShortAnswer | None = None,
    ) -> Answer:
        """The answer to ``query`` from the ranked articles (plain text with ``[n]`` markers, the entity
        lead first for who/when/where/how-many, spans marking the answer), or a "not found" answer;
        ``short`` then reads ``Answer.short_answer`` from the quoted sentences."""
        version = self.snap.version

        def answer(answerable: bool, text: str, **fields: Any) -> Answer:
            ms = 0.0 if started is None else (time.perf_counter() - started) * 1000
            return Answer(
                query.text, answerable, text, ms=ms, index_version=version, checker="off", quoted=text, **fields
            )

        if not ranked:
            return answer(False, NOT_FOUND)
        scored, evidence = self.assess(query, ranked, sentences)
        confidence = self.confidence(evidence)
        if confidence < self.tuning.abstain_threshold or evidence.about_another_story(len(query.terms)):
            return answer(False, NOT_FOUND, confidence=confidence)
        groups = self.select(scored)
        # A long question names several stories on purpose: they answer it together, not instead.
        others = [] if spans_stories({stem(t) for t in query.terms}) else other_stories(self.snap, scored, self.tuning.story_margin)
        mine, theirs = short(groups, others) if short is not None else (UNREAD, [UNREAD] * len(others))
        text, spans, sources = self._write(query, groups, nlp)
        extra = extra_sources(self.snap, sources, [r.idx for r in ranked], scored, articles=extra_articles)
        alternatives: list[Answer] = []
        for s, reading in zip(others, theirs, strict=True):
            if reading.relevant and len(alternatives) < MAX_ALTERNATIVES:
                alt_text, alt_spans, alt_sources = self._write(query, [(s.article, [s])], nlp)
                alternatives.append(
                    answer(
                        True, alt_text, spans=tuple(alt_spans), sources=tuple(alt_sources), confidence=confidence,
                        short_answer=reading.words,
                    )
                )
        return answer(
            True, text, spans=tuple(spans), sources=tuple(sources), confidence=confidence, extra=extra,
            short_answer=mine.words, alternatives=tuple(alternatives),
        )

    def assess(
        self, query: Query, ranked: list[RankedArticle], sentences: SentenceScores | None = None
    ) -> tuple[list[ScoredSentence], Evidence]:
        """Candidate sentences best first, and the evidence the abstention model judges.

        One method for compose() and the calibration script, so the model is fitted on exactly
        what it later sees.
        """
        scores = sentences if sentences is not None else self.sentences(query)
        scored = scores.ranked(ranked[: self.tuning.candidate_articles])
        return scored, self.evidence(query, scored, ranked)

    def select(self, scored: list[ScoredSentence]) -> Groups:
        """The sentences to quote, best article first in reading order: its best sentence and close
        seconds within the word budget (a short reply is read, a long one skimmed), then another
        article's sentence only when it scores as well and says something different."""
        tuning = self.tuning
        best = scored[0]
        chosen, words = [best], self._words(best)
        for s in scored[1:]:
            if len(chosen) >= tuning.max_sentences:
                break
            if s.article == best.article and s.score >= best.score - tuning.support_margin:
                if words + self._words(s) > tuning.quote_words:
                    continue
                chosen.append(s)
                words += self._words(s)
        chosen.sort(key=lambda s: s.sid)
        extra = next(
            (
                s
                for s in scored
                if s.article != best.article
                and s.score >= best.score - tuning.extra_article_margin
                and self._adds_something(s, chosen)
                and words + self._words(s) <= tuning.quote_words
            ),
            None,
        )
        return [(best.article, chosen)] + ([(extra.article, [extra])] if extra else [])

    def _words(self, s: ScoredSentence) -> int:
        return len(self.snap.sentence_text[s.sid].split())

    def _write(
        self, query: Query, groups: Groups, nlp: Any
    ) -> tuple[str, list[Span], list[Source]]:
        kind = SPAN_KINDS.get(query.qtype, "")
        quoted: list[tuple[str, list[tuple[int, int]]]] = [
            (text, entity_spans(text, query.qtype, nlp))
            for _, sentences in groups
            for text in (self.snap.sentence_text[s.sid] for s in sentences)
        ]
        scores = [s.score for _, sentences in groups for s in sentences]
        best_first = [quoted[i] for i in sorted(range(len(quoted)), key=lambda i: -scores[i])]
        text, spans = self._short_answer(best_first, kind, {stem(t) for t in query.terms})
        position = 0
        sources = []
        for number, (article_idx, sentences) in enumerate(groups, 1):
            for _ in sentences:
                sentence, found = quoted[position]
                position += 1
                if text:
                    text += " "
                spans += [Span(len(text) + a, len(text) + b, kind) for a, b in found]
                text += sentence
            text += f" [{number}]"
            sources.append(
                Source(
                    citation=self.snap.articles[article_idx].citation,
                    quote=" ".join(self.snap.sentence_text[s.sid] for s in sentences),
                    score=max(s.score for s in sentences),
                )
            )
        return text, spans, sources

    def _short_answer(
        self, quoted: list[tuple[str, list[tuple[int, int]]]], kind: str, asked: set[str]
    ) -> tuple[str, list[Span]]:
        """"Sundar Pichai, Andy Jassy and Tim Cook.": the best quoted sentence's marked items that the
        question does not already name ("Optus" cannot answer "who ran Optus?"), so the lead only
        ever repeats quoted words; nothing when the question asks for no name, date, place or number."""
        if not kind:
            return "", []
        items: list[str] = []
        for sentence, found in quoted:
            for a, b in found:
                item = sentence[a:b].strip(" ,;:")
                if not item or only_asked_words(item, asked):
                    continue
                if item.casefold() not in {i.casefold() for i in items}:
                    items.append(item)
            if items:
                break
        items = items[: self.tuning.short_items]
        if not items:
            return "", []
        text, spans = "", []
        for i, item in enumerate(items):
            if i:
                text += " and " if i == len(items) - 1 else ", "
            spans.append(Span(len(text), len(text) + len(item), kind))
            text += item
        return text + ".", spans

    def _adds_something(self, candidate: ScoredSentence, chosen: list[ScoredSentence]) -> bool:
        vectors = self.snap.sentence_vectors
        return all(float(vectors[candidate.sid] @ vectors[c.sid]) < 0.9 for c in chosen)

    def _coverage(self, wanted: set[str], text: str) -> tuple[float, set[str]]:
        present = {stem(t) for t in tokens(text)} & wanted
        total = sum(self.lexicon.idf(t) for t in wanted)
        return (sum(self.lexicon.idf(t) for t in present) / total if total else 0.0), present

    def _article_text(self, idx: int) -> str:
        row = self.snap.articles[idx]
        return " ".join(  # outlet included: questions often name it ("the TechCrunch article")
            [row.citation.title, row.citation.source, *self.snap.sentence_text[row.sentence_start : row.sentence_start + row.sentence_count]]
        )

    def evidence(self, query: Query, scored: list[ScoredSentence], ranked: list[RankedArticle]) -> Evidence:
        """Features of the best answer: similarity, how much of the question the chosen article and
        sentences cover, what of it they lack, and whether they are from another time than asked."""
        best = scored[0]
        primary = next(r for r in ranked if r.idx == best.article)
        row = self.snap.articles[primary.idx]
        body = self._article_text(primary.idx)
        wanted = {stem(t) for t in query.terms}
        coverage, present = self._coverage(wanted, body)
        missing = max((self.lexicon.idf(t) for t in wanted - present), default=0.0) / self.lexicon.missing
        lo = max(row.sentence_start, best.sid - 1)
        hi = min(row.sentence_start + row.sentence_count, best.sid + 2)
        window = " ".join(self.snap.sentence_text[lo:hi])
        sentence_coverage, _ = self._coverage(wanted, window)
        top_text = " ".join(self._article_text(r.idx) for r in ranked[:3])
        top_coverage, top_present = self._coverage(wanted, top_text)
        top_words = {stem(t) for t in tokens(top_text)}
        type_missing = 0.0
        if query.qtype != OTHER:
            type_missing = 1.0 - max(answer_type_score(self.snap.sentence_text[sid], query.qtype) for sid in range(lo, hi))
        # Outlets are how a question points at articles ("the TechCrunch piece"), not what it asks about.
        names = [n for n in _names_and_numbers(query.text) if stem(n) not in self.lexicon.outlets]
        article_words = {stem(t) for t in tokens(body)}
        name_missing = 1.0 if any(stem(n) not in article_words for n in names) else 0.0
        cosines = np.array([s.cosine for s in scored[:50]])
        spread = float(cosines.std()) if len(cosines) > 1 else 0.0
        margin = (best.cosine - float(cosines.mean())) / spread if spread > 1e-6 else 0.0
        return Evidence(
            sentence_cosine=best.cosine,
            chunk_cosine=primary.dense,
            coverage=coverage,
            missing_idf=missing,
            time_mismatch=_time_mismatch(query.time, row.published, body),
            sentence_coverage=sentence_coverage,
            top_coverage=top_coverage,
            type_missing=type_missing,
            name_missing=name_missing,
            cosine_margin=margin,
            name_missing_top=1.0 if any(stem(n) not in top_words for n in names) else 0.0,
            missing_idf_top=max((self.lexicon.idf(t) for t in wanted - top_present), default=0.0) / self.lexicon.missing,
        )

    def confidence(self, evidence: Evidence) -> float:
        weights = np.array(self.tuning.abstain_weights, dtype=np.float64)
        z = float(evidence.as_array() @ weights) + self.tuning.abstain_bias
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))




def _names_and_numbers(question: str) -> list[str]:
    """Words of the question that name something: capitalised past its first word, or numbers."""
    out = []
    cased = cased_tokens(question)
    for i, (word, original) in enumerate(cased):
        if word in STOPWORDS or word in CALENDAR_WORDS or re.fullmatch(r"(?:19|20)\d\d", word):
            continue  # dates are the time features' business: articles say "Wednesday", not "August 2021"
        beside = {cased[j][0] for j in (i - 1, i + 1) if 0 <= j < len(cased)}
        if re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)?", word) and beside & CALENDAR_WORDS:
            continue  # the day of a date ("25 August")
        if (i > 0 and original[:1].isupper()) or any(ch.isdigit() for ch in original):
            out.append(word)
    return out


def _time_mismatch(time: TimeHint | None, published: Any, body: str) -> float:
    """1 when the question names a period the article neither dates from nor mentions."""
    if time is None or not time.window or time.start is None or time.end is None:
        return 0.0
    if published is not None and time.start <= published <= time.end:
        return 0.0
    years = {str(y) for y in range(time.start.year, time.end.year + 1)}
    return 0.0 if any(re.search(rf"\b{y}\b", body) for y in years) else 1.0
