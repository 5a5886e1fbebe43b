"""Run a question set through the engine: baselines and the full pipeline on the same index.

Retrieval is scored with ``Engine.search`` in each mode (BM25 only, dense only, hybrid); answers,
abstention and latency with ``Engine.ask``, exactly as the bot calls it.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Protocol, cast

from index.errors import QuestionError
from index.types import Answer, ArticleHit
from measure.eval import metrics as metrics
from measure.eval.dataset import Question, QuestionSet
from measure.eval.written import record as written_record

MODES = ("hybrid", "bm25", "dense")
"""``hybrid`` is the full pipeline's retrieval; the other two are the baselines."""
K = 10
CUTOFFS = (1, 5, 10)


class SearchEngine(Protocol):
    """The part of :class:`index.engine.Engine` the harness uses (a fake one serves the tests)."""

    def search(
        self, query: str, *, k: int = 10, mode: str = "hybrid", asked_on: date | None = None
    ) -> list[ArticleHit]: ...

    def ask(self, question: str, *, k: int = 5, asked_on: date | None = None) -> Answer: ...


class AnswerWriter(Protocol):
    def write(self, answer: Answer) -> Answer: ...


class WritingEngine(Protocol):
    """What ``eval --written`` needs on top: the quoted answer first, then its written form."""

    def ask(self, question: str, *, written: bool | None = None, asked_on: date | None = None) -> Answer: ...

    @property
    def writer(self) -> AnswerWriter: ...


@dataclass
class Result:
    """What happened to one question (one line of ``results.jsonl``)."""

    id: str
    question: str
    kind: str
    unanswerable: bool
    gold: list[str]
    expect: list[list[str]]
    ranks: dict[str, int | None] = field(default_factory=dict)  # first gold rank per mode
    recall: dict[str, float] = field(default_factory=dict)  # recall@10 of all gold articles per mode
    top: list[str] = field(default_factory=list)  # hybrid top-3 "title [id]"
    answer: str = ""
    short_answer: str | None = None  # the reader's span (None: declined or none found)
    stories: int = 0  # stories the answer offers: itself and its alternatives (0: declined)
    confidence: float = 0.0
    abstained: bool = False
    found: list[bool] = field(default_factory=list)  # per expect group
    sources: list[str] = field(default_factory=list)  # article ids the answer cites
    ms: float = 0.0  # wall time of ask
    search_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    written: dict[str, Any] | None = None  # eval --written: see measure.eval.written.record

    @property
    def scored_retrieval(self) -> bool:
        return bool(self.gold) and not self.unanswerable

    @property
    def scored_answer(self) -> bool:
        return bool(self.expect) and not self.unanswerable

    @property
    def failures(self) -> list[str]:
        """Why this question counts as a failure (empty when it passed everything)."""
        why = [f"error: {self.error}"] if self.error else []
        if self.scored_retrieval and self.ranks.get("hybrid") != 1:
            rank = self.ranks.get("hybrid")
            why.append(f"gold article at rank {rank}" if rank else f"gold article not in top {K}")
        if self.error:
            return why  # the engine refused the question: there is no answer to judge
        if self.unanswerable and not self.abstained:
            why.append("answered an unanswerable question")
        elif not self.unanswerable and self.abstained:
            why.append("abstained on an answerable question")
        elif self.scored_answer and not all(self.found):
            missing = [" / ".join(g) for g, ok in zip(self.expect, self.found, strict=True) if not ok]
            why.append("answer lacks " + "; ".join(missing))
        return why


def evaluate_question(engine: SearchEngine, q: Question, modes: Sequence[str] = MODES, *, written: bool = False) -> Result:
    """Search in every mode, then ask; a :class:`QuestionError` is recorded, not raised.

    ``written``: the quoted answer is timed as usual, then ``engine.writer.write`` is scored beside it.
    """
    result = Result(
        id=q.id,
        question=q.question,
        kind=q.kind,
        unanswerable=q.unanswerable,
        gold=list(q.articles),
        expect=[list(g) for g in q.expect],
    )
    try:
        for mode in modes:
            start = time.perf_counter()
            hits = engine.search(q.question, k=K, mode=mode, asked_on=q.asked_on)
            result.search_ms[mode] = (time.perf_counter() - start) * 1000.0
            ids = [h.article_id for h in hits]
            result.ranks[mode] = metrics.first_rank(q.articles, ids)
            result.recall[mode] = metrics.recall_at(q.articles, ids, K)
            if mode == "hybrid":
                result.top = [f"{h.citation.title} [{h.article_id}]" for h in hits[:3]]
        start = time.perf_counter()
        writer = cast(WritingEngine, engine)
        answer = writer.ask(q.question, written=False, asked_on=q.asked_on) if written else engine.ask(q.question, asked_on=q.asked_on)
        result.ms = (time.perf_counter() - start) * 1000.0
        if written:
            start = time.perf_counter()
            written_answer = writer.writer.write(answer)
            result.written = written_record(q, written_answer, (time.perf_counter() - start) * 1000.0)
    except QuestionError as exc:
        result.error = str(exc)
        result.abstained = True
        result.found = [False] * len(q.expect)
        return result
    result.answer = answer.text
    result.short_answer = answer.short_answer
    result.stories = (1 + len(answer.alternatives)) if answer.answerable else 0
    result.confidence = answer.confidence
    result.abstained = not answer.answerable
    result.sources = [s.citation.article_id for s in answer.sources]
    # An abstention cannot be a correct answer, even if its text quotes the right passage.
    result.found = [False] * len(q.expect) if result.abstained else metrics.groups_found(q.expect, answer.text)
    return result


def run(
    engine: SearchEngine,
    qset: QuestionSet,
    *,
    modes: Sequence[str] = MODES,
    progress: Callable[[int, int], None] | None = None,
    written: bool = False,
) -> list[Result]:
    """Evaluate every question of the set, in order."""
    results = []
    total = len(qset.questions)
    for done, q in enumerate(qset.questions, start=1):
        results.append(evaluate_question(engine, q, modes, written=written))
        if progress:
            progress(done, total)
    return results


def _retrieval(results: Sequence[Result], modes: Sequence[str]) -> dict[str, Any]:
    scored = [r for r in results if r.scored_retrieval]
    out: dict[str, Any] = {"n": len(scored)}
    for mode in modes:
        ranks = [r.ranks.get(mode) for r in scored]
        row = {f"hits@{k}": metrics.hits_at(ranks, k) for k in CUTOFFS}
        row["mrr@10"] = metrics.mrr(ranks, K)
        row["recall@10"] = sum(r.recall.get(mode, 0.0) for r in scored) / len(scored) if scored else 0.0
        out[mode] = row
    return out


def _answers(results: Sequence[Result]) -> dict[str, Any]:
    scored = [r for r in results if r.scored_answer]
    n = len(scored)
    # Containment rewards long answers, so their length is reported beside it.
    answered = [r for r in results if not r.abstained]
    words = [float(len(r.answer.split())) for r in answered]
    # SQuAD-style sets (one group of crowd answers): the short answer's exact match and token F1,
    # a declined or missing short answer scoring 0.
    spans = [r for r in scored if len(r.expect) == 1]
    em = [metrics.exact_match(r.short_answer or "", r.expect[0]) if not r.abstained else 0.0 for r in spans]
    f1 = [metrics.f1_score(r.short_answer or "", r.expect[0]) if not r.abstained else 0.0 for r in spans]
    return {
        "n": n,
        "em": sum(em) / len(em) if em else None,
        "f1": sum(f1) / len(f1) if f1 else None,
        "fact_recall": sum(sum(r.found) / len(r.found) for r in scored) / n if n else None,
        "exact_rate": sum(all(r.found) for r in scored) / n if n else None,
        "answer_words_p50": metrics.percentile(words, 50) if words else None,
        # ambiguous questions: the share of answers offering other stories beside the best one
        "several_stories": sum(r.stories > 1 for r in answered) / len(answered) if answered else None,
    }


def _abstention(results: Sequence[Result]) -> dict[str, Any]:
    counts = metrics.abstention((r.unanswerable, r.abstained) for r in results)
    answerable = [r for r in results if not r.unanswerable and r.error is None]
    return {
        "unanswerable": counts.tp + counts.fn,
        "abstained": counts.tp + counts.fp,
        # declining a question the corpus answers: the cost of abstention, on any data set
        "false_declines": sum(r.abstained for r in answerable) / len(answerable) if answerable else None,
        **asdict(counts),
        "precision": counts.precision,
        "recall": counts.recall,
        "f1": counts.f1,
    }


def _latency(times: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(times),
        "p50": metrics.percentile(times, 50) if times else None,
        "p95": metrics.percentile(times, 95) if times else None,
    }


def summarize(results: Sequence[Result], modes: Sequence[str] = MODES) -> dict[str, Any]:
    """Aggregate metrics; ``None`` where a metric has no questions to be computed on."""
    times = [r.ms for r in results if r.error is None]
    by_kind: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_kind[r.kind or "all"].append(r)
    kinds = {}
    if len(by_kind) > 1:
        for kind, group in sorted(by_kind.items()):
            retrieval = _retrieval(group, ["hybrid"])
            kinds[kind] = {
                "n": len(group),
                "hybrid_hits@1": retrieval["hybrid"]["hits@1"] if retrieval["n"] else None,
                "hybrid_mrr@10": retrieval["hybrid"]["mrr@10"] if retrieval["n"] else None,
                **{f"answer_{k}": _answers(group)[k] for k in ("fact_recall", "exact_rate")},
                "abstained": sum(r.abstained for r in group) / len(group),
            }
    return {
        "questions": len(results),
        "errors": sum(r.error is not None for r in results),
        "retrieval": _retrieval(results, modes),
        "answers": _answers(results),
        "abstention": _abstention(results),
        "latency_ms": _latency(times),
        "search_ms": {m: _latency([r.search_ms[m] for r in results if m in r.search_ms]) for m in modes},
        "by_kind": kinds,
    }


def print_progress(label: str) -> Callable[[int, int], None]:
    """A progress callback that prints a line to stderr about every 15 seconds (and at the end)."""
    start = time.monotonic()
    last = [start]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= 15:
            last[0] = now
            rate = done / max(now - start, 1e-9)
            eta = (total - done) / rate if rate else 0.0
            print(f"{label}: {done}/{total} questions, {rate:.1f}/s, ~{eta:.0f}s left", file=sys.stderr)

    return report
