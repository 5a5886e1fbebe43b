"""Time in questions: "in August 2021", "last week", "this year", "latest".

News questions are mostly about one moment; the same kind of story recurs every few weeks, so a
question that names a time should rank articles from that time first.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_YEAR = r"((?:19|20)\d{2})"
_RECENT = re.compile(
    r"\b(?:(?:latest|newest|most recent|recent)\s+(?:news|updates?|developments?|reports?|headlines?|stories|story|articles?)"
    r"|(?:(?:what|which)(?:'s|s| is| are| was| were)?\s+(?:the\s+)?(?:latest|newest|most recent))"
    r"|^\W*(?:the\s+)?(?:latest|newest|most recent)|(?:latest|newest|most recent)\s+(?:on|about|in|from|with)\b"
    r"|recently|currently|right now|these days|at the moment|so far this)\b",
    re.I,
)
"""A wish for the newest articles. "The latest attacks" or "the recent breach" name something the
articles themselves call that; only asking for the latest *news* (or "recently", "currently")
prefers newer articles, so an undated question about "the attacks" is not pulled to this year."""


@dataclass(frozen=True)
class TimeHint:
    """A date window the question points at, and/or a wish for the newest articles."""

    start: date | None = None
    end: date | None = None
    recent: bool = False

    @property
    def window(self) -> bool:
        return self.start is not None and self.end is not None


def parse_time(question: str, today: date) -> TimeHint | None:
    """The time the question names, relative to ``today``; None if it names none."""
    q = question.lower()
    recent = bool(_RECENT.search(q))
    window = _explicit(q) or _relative(q, today)
    if window is None and not recent:
        return None
    start, end = window if window else (None, None)
    return TimeHint(start, end, recent)


def _explicit(q: str) -> tuple[date, date] | None:
    # "August 25, 2021", "25 August 2021"
    m = re.search(rf"\b{_MONTH}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_YEAR}\b", q)
    if m:
        return _day(int(m.group(3)), MONTHS[m.group(1)[:3]], int(m.group(2)))
    m = re.search(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?,?\s+{_YEAR}\b", q)
    if m:
        return _day(int(m.group(3)), MONTHS[m.group(2)[:3]], int(m.group(1)))
    m = re.search(rf"\b{_MONTH}\.?,?\s+(?:of\s+)?{_YEAR}\b", q)
    if m:
        year, month = int(m.group(2)), MONTHS[m.group(1)[:3]]
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    m = re.search(rf"(?<![\w-]){_YEAR}(?![\w-])", q)
    if m:
        year = int(m.group(1))
        return date(year, 1, 1), date(year, 12, 31)
    return None


def _day(year: int, month: int, day: int) -> tuple[date, date] | None:
    try:
        d = date(year, month, day)
    except ValueError:
        return None
    return d - timedelta(days=3), d + timedelta(days=7)


def _relative(q: str, today: date) -> tuple[date, date] | None:
    if re.search(r"\btoday\b", q):
        return today - timedelta(days=1), today
    if re.search(r"\byesterday\b", q):
        return today - timedelta(days=2), today
    if re.search(r"\bthis week\b", q):
        return today - timedelta(days=7), today
    if re.search(r"\b(last|past|previous) week\b", q):
        return today - timedelta(days=14), today
    if re.search(r"\bthis month\b", q):
        return today.replace(day=1), today
    if re.search(r"\b(last|past|previous) month\b", q):
        first = today.replace(day=1)
        prev_end = first - timedelta(days=1)
        return prev_end.replace(day=1), today
    if re.search(r"\bthis year\b", q):
        return date(today.year, 1, 1), today
    if re.search(r"\b(last|past|previous) year\b", q):
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    m = re.search(r"\b(?:last|past) (\d{1,3}) (day|week|month)s\b", q)
    if m:
        days = int(m.group(1)) * {"day": 1, "week": 7, "month": 31}[m.group(2)]
        return today - timedelta(days=days), today
    return None
