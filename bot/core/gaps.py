"""The gap report: declined and 👎 questions grouped by meaning, each group with its nearest article,
so moderators see which subjects (feeds) are missing. The questions come from the answers feature's
store (a :class:`GapSource`), the grouping from ``engine.digest``; in core so both front ends share it."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from bot.core.protocol import Slot
from index import ArticleHit, Engine

DECLINED, DOWNVOTED = "declined", "downvoted"
DAY = 86400.0


@dataclass(frozen=True)
class GapQuestion:
    """One question the bot did not answer (``declined``) or answered to a 👎 (``downvoted``)."""

    answer_id: str
    question: str
    reason: str
    at: float
    guild_id: int | None


@runtime_checkable
class GapSource(Protocol):
    def gap_questions(self, since: float, guild_id: int | None = None) -> list[GapQuestion]: ...


GAP_SOURCE = Slot("feedback", GapSource)  # type: ignore[type-abstract]
"""The stored answers (set up by the answers feature), read as a source of gap questions."""


@dataclass(frozen=True)
class Gap:
    """Questions asking the same thing, the most central first, and the article nearest to them."""

    questions: tuple[GapQuestion, ...]
    nearest: ArticleHit | None

    @property
    def declined(self) -> int:
        return sum(q.reason == DECLINED for q in self.questions)

    @property
    def downvoted(self) -> int:
        return sum(q.reason == DOWNVOTED for q in self.questions)


def since(days: int, now: float | None = None) -> float:
    return (time.time() if now is None else now) - days * DAY


def gap_report(engine: Engine, questions: Sequence[GapQuestion]) -> list[Gap]:
    """The groups, largest first (blocking: it encodes the questions; run it in a worker)."""
    groups = engine.digest.group_questions([q.question for q in questions])
    return [Gap(tuple(questions[i] for i in g.members), g.nearest) for g in groups]


def format_gaps(gaps: Sequence[Gap], days: int) -> str:
    """The report for a console: one block per group."""
    if not gaps:
        return f"No declined or 👎 questions in the last {days} day(s)."
    total = sum(len(g.questions) for g in gaps)
    lines = [f"{total} question(s) in {len(gaps)} group(s) over the last {days} day(s), largest first:"]
    for n, gap in enumerate(gaps, 1):
        lines.append(f"\n{n}. {len(gap.questions)} question(s): {gap.declined} declined, {gap.downvoted} 👎")
        for q in distinct(gap.questions)[:5]:
            lines.append(f"   - {' '.join(q.question.split())}")
        if gap.nearest is not None:
            c = gap.nearest.citation
            lines.append(f"   nearest article: {c.title} ({c.article_id}), score {gap.nearest.score:.2f}")
        else:
            lines.append("   nearest article: none (no index yet)")
    return "\n".join(lines)


def distinct(questions: Sequence[GapQuestion]) -> list[GapQuestion]:
    """One per text (case and spacing aside), first seen kept."""
    seen: set[str] = set()
    out = []
    for q in questions:
        key = " ".join(q.question.split()).casefold()
        if key not in seen:
            seen.add(key)
            out.append(q)
    return out


def export_questions(gaps: Sequence[Gap], path: Path) -> int:
    """Write one evaluation question per distinct text (``policybot eval`` reads them): marked
    unanswerable, as the index is today; give one ``expect`` once its feed is followed."""
    lines = ["# policybot gaps: questions the bot declined or got 👎 for; replace \"unanswerable\" with \"expect\" once answered"]
    for n, gap in enumerate(gaps, 1):
        for m, q in enumerate(distinct(gap.questions), 1):
            record = {
                "id": f"gap-{n}-{m}",
                "question": " ".join(q.question.split()),
                "unanswerable": True,
                "kind": f"gap-{q.reason}",
                "date": datetime.fromtimestamp(q.at, tz=UTC).date().isoformat(),
                "group": n,
            }
            lines.append(json.dumps(record, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1
