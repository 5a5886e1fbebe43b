"""Extractive answers: the sentences that answer the question, from the best article, with sources.

Every sentence already has a vector (stored at build time), so composing an answer costs dot
products over the candidate articles' sentences, never another pass through the model.
"""

from __future__ import annotations

import math
import re
import weakref
from dataclasses import astuple, dataclass
from typing import Any

import numpy as np

from index.ask._entities import OTHER, SPAN_KINDS, answer_type_score, entity_spans, only_asked_words
from index.ask._query import Query
from index.ask._retrieval import RankedArticle
from index.corpus._chunking import BODY, BYLINE, CAPTION, CREDIT, DATELINE
from index.dates import CALENDAR_WORDS, TimeHint
from index.store._idf import idf_table, unseen_idf
from index.store._snapshot import Snapshot
from index.terms import STOPWORDS, cased_tokens, stem, tokens
from index.types import Answer, Source, Span

NOT_FOUND = "I could not find this in the indexed articles."
SINGLE_TOPIC_TERMS = 12
"""Questions with more content words than this are multi-article questions (MultiHop's median is 22)."""


@dataclass(frozen=True)
class AnswerTuning:
    """Sentence scoring and abstention knobs, chosen on data (README, quality section)."""

    candidate_articles: int = 4
    lexical_weight: float = 0.2
    type_weight: float = 0.2
    article_weight: float = 2.0
    support_margin: float = 0.6
    max_sentences: int = 4
    quote_words: int = 200
    aside_penalty: float = 0.3
    short_items: int = 8
    extra_article_margin: float = 0.03
    # Question words rare within the article (what is asked, not which story) lift their sentence,
    # and the article ranking weighs twice (so those lifts cannot carry the quote to a weaker
    # story): SQuAD v1.1 answers contained 0.834 → 0.859 and v2.0 0.824 → 0.834 on a sample not
    # reported (seed 7), project and MultiHop unchanged. Questions longer than SINGLE_TOPIC_TERMS
    # keep the old weights: MultiHop's long questions draw on several stories and lost 2 points.
    focus_weight: float = 0.2
    long_lexical_weight: float = 0.1
    long_article_weight: float = 1.0
    # The second look (rerank) weighs an article's best sentence as much as its first-stage score:
    # on the unreported SQuAD samples (seed 7) weight 0.5 / 0.7 / 1.0 / 1.5 gave v1.1 H@1 0.835 /
    # 0.834 / 0.842 / 0.837 and v2.0 0.816 / – / 0.832 / 0.828; project and MultiHop unchanged.
    rerank_weight: float = 1.0
    staged_rerank_weight: float = 0.5
    """After a stronger second stage (quality mode, a cross-encoder) this model's sentences weigh
    less, so they cannot undo the stronger model's order: with Gemma re-scoring, seed-7 SQuAD v1.1
    H@1 at 0 / 0.5 / 1.0 was 0.860 / 0.870 / 0.870 (project 0.975 at each)."""
    rerank_articles: int = 10
    # Abstention: a logistic model over the Evidence fields, fitted by measure/calibrate/abstention.py on
    # five data sets (the project's questions over its corpus and over a corpus with 2,393 unrelated
    # documents mixed in, SQuAD v1.1 and v2.0 dev samples, MultiHop-RAG), each weighing the same,
    # with leave-the-answer-out negatives; the threshold keeps false declines of answerable
    # questions (with Evidence.about_another_story) at or under 4 % on every set's fitting half.
    abstain_weights: tuple[float, ...] = (
        5.364, -0.486, 2.144, -0.085, -0.677, 0.147, 2.251, -0.405, 0.085, -0.072, -0.574, 0.944,
    )
    abstain_bias: float = -5.823
    abstain_threshold: float = 0.10


@dataclass(frozen=True)
class ScoredSentence:
    sid: int
    article: int
    score: float
    cosine: float


@dataclass(frozen=True)
class Evidence:
    """How well the chosen sentences support an answer: the abstention model's inputs.

    Most of them mean the same on any corpus and with any model (shares of the question's words,
    whether the answer's type is there), so the model fitted on several data sets transfers;
    the raw cosines are kept but weigh little.
    """

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
        """A short, single-topic question naming something the chosen article never mentions, while
        the quoted sentences hold under 40 % of its words: an answer from an unrelated story.

        Long questions (MultiHop's, drawing on several articles) name things each single article
        lacks, so the rule stays out of their way; on short questions it costs 1–3 % of answerable
        ones and catches about half of the questions the corpus cannot answer (measured on the
        calibration sets' cached evidence: 0.3 caught less, 0.5 cost SQuAD 5 %; README, quality).
        """
        return question_terms <= SINGLE_TOPIC_TERMS and self.name_missing >= 1.0 and self.sentence_coverage < 0.4


class Composer:
    """Turns ranked articles into an :class:`Answer` for one question."""

    def __init__(self, snap: Snapshot, tuning: AnswerTuning | None = None) -> None:
        self.snap = snap
        self.tuning = tuning or AnswerTuning()
        self.idf = idf_table(snap)
        self.idf_missing = unseen_idf(snap)
        self.outlets = outlet_words(snap)

    def compose(self, query: Query, ranked: list[RankedArticle], nlp: Any = None) -> Answer:
        """The answer to ``query`` from the ranked articles, or a "not found" answer.

        ``text`` is plain: for who/when/where/how-many questions the short answer first (the
        names, dates, places or numbers of the quoted sentences), then the quoted sentences with
        ``[n]`` markers; ``spans`` mark what answers the question for the front ends to emphasise.
        """
        version = self.snap.version
        if not ranked:
            return Answer(query.text, False, NOT_FOUND, index_version=version)
        scored, evidence = self.assess(query, ranked)
        confidence = self.confidence(evidence)
        if confidence < self.tuning.abstain_threshold or evidence.about_another_story(len(query.terms)):
            return Answer(query.text, False, NOT_FOUND, confidence=confidence, index_version=version)
        groups = self.select(scored)
        text, spans, sources = self._write(query, groups, nlp)
        return Answer(
            query.text, True, text, tuple(spans), tuple(sources), confidence=confidence, index_version=version
        )

    def select(self, scored: list[ScoredSentence]) -> list[tuple[int, list[ScoredSentence]]]:
        """The sentences to quote, grouped by article (best article first, in reading order).

        The best sentence, then its close seconds from the same article while they fit the word
        budget (a short reply is read; a long one is skimmed), then one sentence of another article
        only when it scores as well and says something different.
        """
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
        self, query: Query, groups: list[tuple[int, list[ScoredSentence]]], nlp: Any
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
        """"Sundar Pichai, Andy Jassy and Tim Cook." from the quoted sentences' marked spans.

        The items of the best quoted sentence that marks any the question does not already name
        ("Optus" cannot answer "who ran Optus?"); one sentence's list, not every name quoted.
        Nothing for questions that ask for no name, date, place or number, or when the quote
        marks none; the short answer only ever repeats words of the quoted sentences.
        """
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

    def assess(self, query: Query, ranked: list[RankedArticle]) -> tuple[list[ScoredSentence], Evidence]:
        """Candidate sentences best first, and the evidence the abstention model judges.

        One method for compose() and the calibration script, so the model is fitted on exactly
        what it later sees.
        """
        terms = list(query.terms)
        top = ranked[: self.tuning.candidate_articles]
        scored = self.score_sentences(query.vector, terms, top, query.qtype, counted=query.counted)
        return scored, self.evidence(query, scored, ranked)

    def rerank(self, query: Query, ranked: list[RankedArticle], *, staged: bool = False) -> list[RankedArticle]:
        """The first stage's best articles again, each lifted by its best sentence's fit.

        One sentence that says exactly what was asked (its words, the kind of answer) lifts its
        article over one whose chunks are merely about the same story: SQuAD v1.1 H@1 0.811 →
        0.842 on a sample not reported (seed 7), project +0.016, MultiHop unchanged (its long
        questions are left as ranked, and so are questions that name a time). Only the order
        changes: scores stay the first stage's, so the sentence choice still weighs retrieval's
        own margins (a lifted score there would let one sentence count twice and carry the quote
        to a weaker story). ``staged``: a stronger second stage ranked them, so this model's
        sentences weigh ``staged_rerank_weight``.
        """
        tuning = self.tuning
        weight = tuning.staged_rerank_weight if staged else tuning.rerank_weight
        if weight <= 0 or len(ranked) < 2 or _spans_stories({stem(t) for t in query.terms}):
            return ranked
        if query.time is not None:  # "in March 2022", "latest": the dates decide, and sentences know none
            return ranked
        head = ranked[: tuning.rerank_articles]
        fit: dict[int, float] = {}
        for s in self.score_sentences(
            query.vector, list(query.terms), head, query.qtype, article_weight=0.0, counted=query.counted
        ):
            fit.setdefault(s.article, s.score)
        lifted = sorted(head, key=lambda r: -(r.score + weight * fit[r.idx]))
        return lifted + ranked[len(head) :]

    def score_sentences(
        self,
        vector: np.ndarray,
        terms: list[str],
        top: list[RankedArticle],
        qtype: str,
        *,
        article_weight: float | None = None,
        counted: frozenset[str] = frozenset(),
    ) -> list[ScoredSentence]:
        """Sentences of the candidate articles, best first.

        A sentence's own fit (stored vector, term overlap, answer type) plus its article's
        retrieval score relative to the best article: the article ranking is more reliable than
        any single sentence, so leaving the best article has to be earned. ``article_weight``
        0 gives the fit alone (for :meth:`rerank`); ``counted`` is what a how-many question counts.
        """
        snap, tuning = self.snap, self.tuning
        wanted = {stem(t) for t in terms}
        weight_total = sum(self._idf(t) for t in wanted) or 1.0
        best_article_score = top[0].score
        lexical_weight, focus_weight, weight = tuning.lexical_weight, tuning.focus_weight, tuning.article_weight
        if _spans_stories(wanted):
            lexical_weight, focus_weight, weight = tuning.long_lexical_weight, 0.0, tuning.long_article_weight
        if article_weight is not None:
            weight = article_weight
        out = []
        for rank in top:
            row = snap.articles[rank.idx]
            sids = np.arange(row.sentence_start, row.sentence_start + row.sentence_count)
            cosines = snap.sentence_vectors[sids] @ vector
            article_bonus = weight * (rank.score - best_article_score)
            found_by_sentence = [{stem(t) for t in tokens(snap.sentence_text[sid])} & wanted for sid in sids.tolist()]
            focus = _focus_weights(found_by_sentence, self._idf)
            for sid, cos, found in zip(sids.tolist(), cosines.tolist(), found_by_sentence, strict=True):
                text = snap.sentence_text[sid]
                lexical = sum(self._idf(t) for t in found) / weight_total
                focused = sum(focus[t] for t in found) / weight_total
                type_bonus = tuning.type_weight * answer_type_score(text, qtype, wanted, counted) if qtype != OTHER else 0.0
                score = cos + lexical_weight * lexical + focus_weight * focused + type_bonus + article_bonus
                if snap.sentence_kind[sid] != BODY and not asks_about(snap.sentence_kind[sid], terms):
                    score -= tuning.aside_penalty  # a caption or byline answers only when asked about
                out.append(ScoredSentence(sid, rank.idx, score, cos))
        out.sort(key=lambda s: -s.score)
        return out

    def _adds_something(self, candidate: ScoredSentence, chosen: list[ScoredSentence]) -> bool:
        vectors = self.snap.sentence_vectors
        return all(float(vectors[candidate.sid] @ vectors[c.sid]) < 0.9 for c in chosen)

    def _idf(self, term: str) -> float:
        return self.idf.get(term, self.idf_missing)

    def _coverage(self, wanted: set[str], text: str) -> tuple[float, set[str]]:
        present = {stem(t) for t in tokens(text)} & wanted
        total = sum(self._idf(t) for t in wanted)
        return (sum(self._idf(t) for t in present) / total if total else 0.0), present

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
        missing = max((self._idf(t) for t in wanted - present), default=0.0) / self.idf_missing
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
        names = [n for n in _names_and_numbers(query.text) if stem(n) not in self.outlets]
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
            missing_idf_top=max((self._idf(t) for t in wanted - top_present), default=0.0) / self.idf_missing,
        )

    def confidence(self, evidence: Evidence) -> float:
        weights = np.array(self.tuning.abstain_weights, dtype=np.float64)
        z = float(evidence.as_array() @ weights) + self.tuning.abstain_bias
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def _spans_stories(wanted: set[str]) -> bool:
    """A long question (more distinct stemmed words than SINGLE_TOPIC_TERMS) draws on several stories."""
    return len(wanted) > SINGLE_TOPIC_TERMS


def _focus_weights(found_by_sentence: list[set[str]], idf: Any) -> dict[str, float]:
    """Question words weighted by the share of the article's sentences that lack them.

    The words naming the story ("Optus", "breach") are in most of its sentences and cannot tell
    them apart; the word naming what is asked ("chief executive", "dissented") is in one or two.
    A word keeps at most its idf, so that (divided by the idf of all the question's words) an
    article lacking most of the question cannot lift its sentences above the one that has it.
    """
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
