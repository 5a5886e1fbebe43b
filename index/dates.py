"""Dates, defined once: the month and weekday names and every pattern built from them (the written
answers' checker, answer types, the composer), and the time a question names ("in August 2021",
"last week", "latest"), because a news question is mostly about one moment."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sept", "Sep", "Oct", "Nov", "Dec")
"""Short forms as news writes them (May has none)."""
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_NUMBER = {name[:3]: i for i, name in enumerate(MONTH_NAMES, 1)}
MONTHS = {name.lower(): i for i, name in enumerate(MONTH_NAMES, 1)} | {
    short.lower(): _NUMBER[short[:3]] for short in MONTH_ABBREVIATIONS
}
"""Month number by lower-case name or short form."""
CALENDAR_WORDS = frozenset(MONTHS) | {day.lower() for day in WEEKDAY_NAMES}
"""Lower-case words that only name a month or a weekday."""

FULL_MONTH = "|".join(MONTH_NAMES)
WEEKDAY = "|".join(WEEKDAY_NAMES)
MONTH = rf"(?:(?:{FULL_MONTH})\b|(?:{'|'.join(MONTH_ABBREVIATIONS)})(?:\.|\b))"
"""A month in text, spelled out or short ("Aug." or "Aug"); case-sensitive."""
NEWS_MONTH = rf"(?:{FULL_MONTH}|Jan\.|Feb\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)"
"""A month as news style writes it: spelled out, or one of the AP short forms with its dot."""
_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + ")"  # in a lower-cased question
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
