"""``policybot eval --written``: written answers judged on the same questions as the quoted ones.

Per question the extractive answer is produced first (exactly what is sent while the model
writes), then ``Engine.write``; both are scored against the same gold facts. What a written answer
must earn: more facts or right yes/no judgements, without the checker letting wrong text through.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from index.types import Answer
from measure.eval import metrics as metrics
from measure.eval.dataset import Question


class Scored(Protocol):
    """What the summary reads of one question's result (``measure.eval.runner.Result``)."""

    written: dict[str, Any] | None
    abstained: bool

    @property
    def scored_answer(self) -> bool: ...
    found: list[bool]


YES_NO = {"yes", "no", "true", "false"}
_MARKER = re.compile(r"\[(\d+)\]")


def judged(text: str, gold: str) -> bool:
    """A yes/no gold is right only as the answer's first word; other judgements by containment."""
    want = metrics.normalize(gold).strip(" .")
    if want in YES_NO:
        first = re.match(r"\W*(\w+)", metrics.normalize(text))
        return bool(first) and first.group(1) == want  # type: ignore[union-attr]
    return metrics.contains(text, gold)


def is_judgement(q: Question) -> bool:
    return "yes/no" in q.kind


def record(q: Question, answer: Answer, ms: float) -> dict[str, Any]:
    """What one written attempt did: sent text, checker verdict, facts found, cited passages judged."""
    cited = sorted({int(n) for n in _MARKER.findall(answer.text)}) if answer.generated else []
    good = 0
    for n in cited:
        if 0 < n <= len(answer.sources):
            source = answer.sources[n - 1]
            facts = any(metrics.contains(source.quote, alt) for group in q.expect for alt in group)
            good += source.article_id in q.articles or facts
    scored = answer.answerable and bool(q.expect) and not q.unanswerable
    return {
        "generated": answer.generated,
        "checker": answer.checker,
        "text": answer.text,
        "ms": ms,
        "found": metrics.groups_found(q.expect, answer.text) if scored else [],
        "judged": judged(answer.text, q.expect[0][0]) if scored and is_judgement(q) else None,
        "quoted_judged": judged(answer.quoted, q.expect[0][0]) if scored and is_judgement(q) else None,
        "cited": len(cited),
        "cited_good": good,
    }


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(results: Sequence[Scored]) -> dict[str, Any]:
    """Quoted vs sent (written when it passed, else quoted), on the questions both answered."""
    tried = [r for r in results if r.written is not None and not r.abstained]
    scored = [r for r in tried if r.scored_answer and r.written and r.written["found"]]
    passed = [r for r in tried if r.written and r.written["generated"]]
    passed_scored = [r for r in passed if r in scored]
    judgements = [r for r in scored if r.written and r.written["judged"] is not None]
    times = [float(r.written["ms"]) for r in tried if r.written]
    cited = sum(int(r.written["cited"]) for r in passed if r.written)
    reasons = Counter(_reason(str(r.written["checker"])) for r in tried if r.written and not r.written["generated"])
    return {
        "attempted": len(tried),
        "scored": len(scored),
        "quoted_fact_recall": _mean([sum(r.found) / len(r.found) for r in scored]),
        "sent_fact_recall": _mean([sum(w["found"]) / len(w["found"]) for r in scored if (w := r.written)]),
        "quoted_exact": _mean([float(all(r.found)) for r in scored]),
        "sent_exact": _mean([float(all(w["found"])) for r in scored if (w := r.written)]),
        "yes_no_n": len(judgements),
        "quoted_yes_no": _mean([float(bool(w["quoted_judged"])) for r in judgements if (w := r.written)]),
        "sent_yes_no": _mean([float(bool(w["judged"])) for r in judgements if (w := r.written)]),
        "pass_rate": len(passed) / len(tried) if tried else None,
        "passed_but_wrong": _mean([float(not all(w["found"])) for r in passed_scored if (w := r.written)]),
        "passed_scored": len(passed_scored),
        "citation_precision": sum(int(r.written["cited_good"]) for r in passed if r.written) / cited if cited else None,
        "write_ms_p50": metrics.percentile(times, 50) if times else None,
        "write_ms_p95": metrics.percentile(times, 95) if times else None,
        "fallback_reasons": dict(reasons.most_common()),
    }


def _reason(checker: str) -> str:
    """Group reasons: "'48' is not in the cited passages [1]" → "not in the cited passages"."""
    for key in ("not in the cited passages", "no citation", "which does not exist", "timeout", "could not tell"):
        if key in checker:
            return key
    return checker


def headline(w: dict[str, Any]) -> str:
    def f(v: Any) -> str:
        return "–" if v is None else f"{v:.3f}"

    return (
        f"  written: {w['attempted']} attempted, checker pass {f(w['pass_rate'])}; fact recall "
        f"{f(w['quoted_fact_recall'])} quoted → {f(w['sent_fact_recall'])} sent, exact {f(w['quoted_exact'])} → "
        f"{f(w['sent_exact'])}, yes/no {f(w['quoted_yes_no'])} → {f(w['sent_yes_no'])} (n={w['yes_no_n']}); "
        f"passed but wrong {f(w['passed_but_wrong'])} (n={w['passed_scored']}), citation precision "
        f"{f(w['citation_precision'])}; write p50 {f(w['write_ms_p50'])} ms, p95 {f(w['write_ms_p95'])} ms"
    )


def markdown(w: dict[str, Any]) -> str:
    """The report section (appended to report.md)."""

    def f(v: Any) -> str:
        return "–" if v is None else f"{v:.3f}"

    rows = [
        ("fact recall", w["quoted_fact_recall"], w["sent_fact_recall"]),
        ("exact (all gold facts)", w["quoted_exact"], w["sent_exact"]),
        (f"yes/no accuracy (n={w['yes_no_n']})", w["quoted_yes_no"], w["sent_yes_no"]),
    ]
    lines = [
        "",
        "## Written answers",
        "",
        f"{w['attempted']} answered questions, {w['scored']} with gold facts. *Sent* is the written answer "
        "when the checker passed it, else the quoted one.",
        "",
        "| measure | quoted | sent |",
        "| --- | --- | --- |",
        *[f"| {name} | {f(a)} | {f(b)} |" for name, a, b in rows],
        "",
        f"- checker pass rate: {f(w['pass_rate'])}",
        f"- passed the checker but wrong by the gold facts: {f(w['passed_but_wrong'])} (n={w['passed_scored']})",
        f"- citation precision (cited passages with a gold fact or from a gold article): {f(w['citation_precision'])}",
        f"- time to write: p50 {f(w['write_ms_p50'])} ms, p95 {f(w['write_ms_p95'])} ms",
        "- fallbacks: " + (", ".join(f"{k} ×{v}" for k, v in w["fallback_reasons"].items()) or "none"),
    ]
    return "\n".join(lines) + "\n"
