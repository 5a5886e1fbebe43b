"""Names, dates and numbers in a sentence, normalised ("Aug. 25" is "August 25, 2021") so that each
claim of a written answer can be looked up in the passages it cites: patterns for numbers and
dates (exact and cheap), spaCy NER for names when it is loaded, capitalised words otherwise."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from index.dates import FULL_MONTH, MONTH, MONTHS, WEEKDAY

_ORD = r"(?:st|nd|rd|th)?"
_DATE = re.compile(
    rf"\b(?P<iy>\d{{4}})-(?P<im>\d{{2}})-(?P<id>\d{{2}})\b"
    rf"|\b(?P<am>{MONTH})\s+(?P<ad>\d{{1,2}}){_ORD}\b(?:,?\s+(?P<ay>\d{{4}})\b)?"
    rf"|\b(?P<bd>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<bm>{MONTH})(?:,?\s+(?P<by>\d{{4}})\b)?"
    rf"|\b(?P<cm>{MONTH}),?\s+(?P<cy>\d{{4}})\b"
    rf"|\b(?P<dm>{FULL_MONTH})\b"
)
_WEEKDAY = re.compile(rf"\b(?:{WEEKDAY})\b")

_SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "mln": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
}  # fmt: skip
_NUMBER = re.compile(
    r"(?<![A-Za-z\d.,])(?P<cur>[$€£]\s?)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<scale>thousand|million|billion|trillion|mln|bn|m|k)(?![A-Za-z]))?"
    r"(?P<tail>\s?(?:%|percent\b|per cent\b)|(?:st|nd|rd|th)\b)?"
    r"(?![A-Za-z])"
    rf"|\b(?P<word>{'|'.join(_WORDS)})(?:-(?P<unit>one|two|three|four|five|six|seven|eight|nine))?"
    r"(?:[\s-]+(?P<wscale>thousand|million|billion|trillion))?\b",
    re.I,
)

NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "LAW", "PRODUCT"})
"""People, organisations and places (plus named laws and products): what a model invents most."""

_IGNORED_NAMES = frozenset({"yes", "no", "i", "a", "an", "the"})
# Capitalised only because they open the sentence: not names.
# fmt: off
_STARTERS = frozenset({
    "a", "an", "the", "yes", "no", "he", "she", "it", "they", "we", "i", "you", "this", "that", "these",
    "those", "there", "both", "however", "in", "on", "at", "by", "for", "from", "after", "before", "during",
    "according", "while", "although", "though", "but", "and", "or", "so", "also", "its", "their", "his",
    "her", "our", "as", "when", "what", "who", "which", "then", "since", "some", "many", "most", "all",
    "each", "not", "neither", "either", "only", "one", "another", "other", "such", "with", "without",
    "under", "over", "into", "because", "if",
})
# fmt: on
_CAPITALISED = re.compile(r"[A-Z][\w&'’.-]*(?:\s+[A-Z][\w&'’.-]*)*")
_ACRONYM_SKIP = frozenset({"and", "of", "the", "for", "on", "in", "&"})


@dataclass(frozen=True)
class DateFact:
    """A calendar date as far as the text gives it: any of the parts may be missing."""

    year: int | None
    month: int | None
    day: int | None


@dataclass(frozen=True)
class Claim:
    """One checkable fact in a sentence: ``text`` as written (for the reason), ``kind`` and a key."""

    text: str
    kind: str  # "name" | "number" | "date" | "weekday"
    value: Any


def _month(token: str) -> int:
    return MONTHS[token.rstrip(".").lower()]


def _date_of(m: re.Match[str]) -> DateFact | None:
    g = m.groupdict()
    try:
        if g["iy"]:
            return DateFact(int(g["iy"]), int(g["im"]), int(g["id"]))
        if g["am"]:
            day, year, month = int(g["ad"]), g["ay"], _month(g["am"])
        elif g["bm"]:
            day, year, month = int(g["bd"]), g["by"], _month(g["bm"])
        elif g["cm"]:
            return DateFact(int(g["cy"]), _month(g["cm"]), None)
        else:
            return DateFact(None, _month(g["dm"]), None)
    except KeyError:
        return None
    if not 1 <= day <= 31:
        return None
    return DateFact(int(year) if year else None, month, day)


def find_dates(text: str) -> list[tuple[str, DateFact, tuple[int, int]]]:
    """Every date in ``text`` with its surface form and span (so numbers inside it can be masked)."""
    found = []
    for m in _DATE.finditer(text):
        fact = _date_of(m)
        if fact is not None:
            found.append((m.group(0), fact, m.span()))
    return found


def number_value(m: re.Match[str]) -> float:
    if m.group("word"):
        value = float(_WORDS[m.group("word").lower()])
        if m.group("unit"):  # "twenty-eight"
            value += 1.0 if m.group("unit").lower() == "one" else _WORDS[m.group("unit").lower()]
        scale = m.group("wscale")
    else:
        value = float(m.group("num").replace(",", ""))
        scale = m.group("scale")
    return value * (_SCALES[scale.lower()] if scale else 1.0)


def find_numbers(text: str) -> list[tuple[str, float]]:
    """Every number with its value: "1,200", "1200" and "1.2 thousand" all give 1200.0.

    Currency signs and percent marks are kept in the surface form but not in the value, so
    "$4.4 million" matches "4.4 million dollars" and "45%" matches "45 percent".
    """
    return [(m.group(0).strip(), number_value(m)) for m in _NUMBER.finditer(text)]


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def norm_name(name: str) -> str:
    """Lower case, straight quotes, no periods or possessive, single spaces: "the U.S.'s" → "us"."""
    s = name.replace("’", "'").replace("‘", "'").lower()
    s = re.sub(r"'s\b", "", s)
    s = s.replace(".", "").replace("-", " ")
    s = re.sub(r"^the\s+", "", s.strip(" ,;:'\"()"))
    return re.sub(r"\s+", " ", s).strip()


def find_names(text: str, nlp: Any) -> list[str]:
    """Person, organisation and place names: spaCy entities, or capitalised runs without spaCy."""
    if nlp is not None:
        names = [ent.text for ent in nlp(text).ents if ent.label_ in NAME_LABELS]
    else:
        names = []
        for m in _CAPITALISED.finditer(text):
            run = m.group(0).rstrip(".'’-")
            words = run.split()
            at_start = not text[: m.start()].strip(" \"'“‘(")
            if at_start and (len(words) == 1 or words[0].lower().strip(",") in _STARTERS):
                words = words[1:]  # capitalised by position; a lone first word is more often "Officials" than a name
            if words:
                names.append(" ".join(words))
    return [n for n in names if norm_name(n) not in _IGNORED_NAMES and re.search(r"[A-Za-z]", n)]


def claims(sentence: str, nlp: Any) -> list[Claim]:
    """The facts a sentence asserts: dates first (their digits are not numbers), numbers, names."""
    found: list[Claim] = []
    dates = find_dates(sentence)
    found += [Claim(surface, "date", fact) for surface, fact, _ in dates]
    rest = _mask(sentence, (span for _, _, span in dates))
    found += [Claim(surface, "number", value) for surface, value in find_numbers(rest)]
    found += [Claim(m.group(0), "weekday", m.group(0).lower()) for m in _WEEKDAY.finditer(sentence)]
    date_words = {w.lower() for surface, _, _ in dates for w in re.findall(r"[A-Za-z]+", surface)}
    for name in find_names(rest, nlp):
        if norm_name(name) in date_words or _WEEKDAY.fullmatch(name):
            continue
        found.append(Claim(name, "name", norm_name(name)))
    return found


@dataclass
class Sources:
    """What a set of passages states, in the forms claims are compared against."""

    text: str = ""
    names_text: str = ""
    numbers: list[float] = field(default_factory=list)
    dates: list[DateFact] = field(default_factory=list)
    acronyms: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, parts: Iterable[tuple[str, date | None]]) -> Sources:
        """``parts`` are (text, published) pairs; the published date counts as stated."""
        src = cls()
        texts = []
        for text, published in parts:
            texts.append(text)
            if published:
                src.dates.append(DateFact(published.year, published.month, published.day))
                src.numbers.append(float(published.year))
        src.text = "\n".join(texts)
        src.names_text = " " + norm_name(src.text.replace("\n", " ")) + " "
        src.numbers += [v for _, v in find_numbers(src.text)]
        src.dates += [fact for _, fact, _ in find_dates(src.text)]
        src.acronyms = set(re.findall(r"\b[A-Z][A-Z&]{1,}\b", src.text))
        return src

    def states(self, claim: Claim) -> bool:
        if claim.kind == "number":
            return any(math.isclose(claim.value, v, rel_tol=1e-9) for v in self.numbers)
        if claim.kind == "date":
            return any(self._same_date(claim.value, d) for d in self.dates)
        if claim.kind == "weekday":
            return claim.value in self.text.lower()
        return self._names(claim.value, claim.text)

    def _same_date(self, claim: DateFact, seen: DateFact) -> bool:
        if claim.month != seen.month or (claim.day is not None and claim.day != seen.day):
            return False
        if claim.year is None or claim.year == seen.year:
            return True
        return seen.year is None and float(claim.year) in self.numbers

    def _names(self, key: str, surface: str) -> bool:
        if not key:
            return True
        if re.search(rf"(?<![\w]){re.escape(key)}(?![\w])", self.names_text):
            return True
        words = [w for w in re.findall(r"[\w&]+", surface) if w.lower() not in _ACRONYM_SKIP]
        initials = "".join(w[0] for w in words).upper()
        return len(words) >= 2 and initials in self.acronyms
