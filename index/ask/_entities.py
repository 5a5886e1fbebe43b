"""What a question asks for (who / when / how many / where) and where that sits in a sentence.

Scoring uses cheap patterns (every candidate sentence, every question); the spans emphasised in the
final answer come from spaCy's NER when it is loaded (:mod:`index.models`), else from the patterns.
"""

from __future__ import annotations

import re
from typing import Any

from index.dates import NEWS_MONTH, WEEKDAY
from index.terms import STOPWORDS, stem, tokens

WHO, WHEN, COUNT, WHERE, OTHER = "who", "when", "count", "where", "other"

_SPACY_LABELS = {
    WHO: {"PERSON", "ORG", "NORP", "GPE"},
    WHEN: {"DATE", "TIME"},
    COUNT: {"CARDINAL", "MONEY", "QUANTITY", "PERCENT"},
    WHERE: {"GPE", "LOC", "FAC"},
}
_DATE = re.compile(
    rf"\b(?:{NEWS_MONTH}\s+\d{{1,2}}(?:,\s*\d{{4}})?|\d{{1,2}}\s+{NEWS_MONTH}(?:\s+\d{{4}})?|{NEWS_MONTH}\s+\d{{4}}|{NEWS_MONTH}"
    rf"|(?:{WEEKDAY})|(?:19|20)\d{{2}}|yesterday|today|last (?:week|month|year))\b"
)
_NUMBER = re.compile(
    r"(?:[$€£]\s?\d[\d,.]*(?:\s?(?:million|billion|trillion|thousand))?"
    r"|\b\d[\d,.]*(?:\s?(?:million|billion|trillion|thousand|percent|%))?"
    r"|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"hundred|dozens?|hundreds|thousands|millions)\b)",
    re.I,
)
_NAME = re.compile(r"\b[A-Z][\w&'.-]*(?:\s+(?:of\s+|de\s+|van\s+)?[A-Z][\w&'.-]*)*")
_TITLE = re.compile(
    r"\b(?:CEOs?|chief executives?|president|secretary|minister|director|chair(?:man|woman)?|officials?|"
    r"executives?|leaders?|senator|representative|commissioner|founder|attorney general|spokes(?:man|woman|person))\b",
    re.I,
)


def question_type(question: str) -> str:
    """who / when / count / where / other; a follow-up's leading "and", "but"… does not hide it."""
    q = re.sub(r"^(?:and|but|so|also|then|ok|okay)\b[\s,]*", "", question.lower().strip())
    if re.match(r"(who|whom|whose)\b", q) or re.search(
        r"\b(which|what) (companies|company|firms?|organi[sz]ations?|groups?|gang|countries|country|people|officials?|agency|agencies|executives?|ceos?)\b",
        q,
    ):
        return WHO
    if re.match(r"when\b", q) or re.search(r"\b(what|which) (date|day|year|month|time)\b", q):
        return WHEN
    if re.search(r"\bhow (many|much)\b|\b(what|which) (amount|number|sum|percentage)\b|\bhow large\b", q):
        return COUNT
    if re.match(r"where\b", q) or re.search(r"\b(which|what) (city|place|location|state)\b", q):
        return WHERE
    return OTHER


def counted_words(question: str) -> frozenset[str]:
    """What a how-many or how-much question counts, stemmed: "how many critical infrastructure
    sectors are there?" → critical, infrastructure, sectors; empty for other questions."""
    words = tokens(question)
    for i in range(len(words) - 1):
        if words[i] == "how" and words[i + 1] in ("many", "much"):
            run: list[str] = []
            for word in words[i + 2 :]:
                if word in STOPWORDS or len(run) == 4:
                    break
                run.append(stem(word))
            return frozenset(run)
    m = re.search(r"\b(?:what|which) (?:number|amount|percentage|share|sum) of ((?:[\w'-]+\s*){1,3})", question.lower())
    return frozenset(stem(w) for w in tokens(m.group(1)) if w not in STOPWORDS) if m else frozenset()


_WORD = re.compile(r"[$€£]?[A-Za-z0-9][\w'.,%-]*[A-Za-z0-9%]|[A-Za-z0-9]")
"""Words for counting distance: unlike ``terms.tokens``, "40,000", "$4.4" and "45%" stay one word."""
_YEAR = re.compile(r"(?:19|20)\d{2}")


def counting_spans(sentence: str, counted: frozenset[str], window: int = 3) -> list[tuple[int, int]]:
    """Spans of the numbers within ``window`` words of what the question counts.

    "16 critical infrastructure sectors" answers "how many sectors?"; "within 72 hours" in a
    sentence about sectors does not. A number elsewhere in the sentence counts something else.
    """
    if not counted:
        return []
    words = [(m.start(), m.end(), {stem(t) for t in tokens(m.group())}) for m in _WORD.finditer(sentence)]
    out = []
    for m in _NUMBER.finditer(sentence):
        if _YEAR.fullmatch(m.group().strip()):
            continue
        inside = [i for i, (a, b, _) in enumerate(words) if a < m.end() and b > m.start()]
        if not inside:
            continue
        around = range(max(0, inside[0] - window), min(len(words), inside[-1] + window + 1))
        if any(words[j][2] & counted for j in around if j not in inside):
            out.append(m.span())
    return out


def answer_type_score(
    sentence: str, qtype: str, asked: frozenset[str] | set[str] = frozenset(), counted: frozenset[str] = frozenset()
) -> float:
    """How strongly the sentence holds the kind of thing asked for, in [0, 1], graded because nearly
    every news sentence names somebody but the answer to "who attended?" names several; names made of
    ``asked`` words do not count, and with ``counted`` only a number beside the counted words does."""
    if qtype == WHEN:
        m = _DATE.search(sentence)
        if not m:
            return 0.0
        return 1.0 if re.search(r"\d", m.group(0)) else 0.6
    if qtype == COUNT:
        if counted:
            return 1.0 if counting_spans(sentence, counted) else 0.0
        return 1.0 if any(not _YEAR.fullmatch(n.strip()) for n in _NUMBER.findall(sentence)) else 0.0
    if qtype == WHO:
        body = re.sub(r"^\W*\w+", "", sentence)  # a sentence's first word is capitalised anyway
        names = [
            n
            for n in _NAME.findall(body)
            if n not in {"I", "I've", "I'm", "The", "A", "An"} and not only_asked_words(n, asked)
        ]
        titled = 0.3 if _TITLE.search(sentence) else 0.0
        return min(1.0, len(names) / 3 + titled)
    if qtype == WHERE:
        return 1.0 if re.search(r"\b(?:in|at|from|near)\s+[A-Z]", sentence) else 0.0
    return 0.0


def only_asked_words(name: str, asked: frozenset[str] | set[str]) -> bool:
    """A name made only of the question's own (stemmed) words cannot be its answer."""
    words = {stem(t) for t in tokens(name)}
    return bool(words) and words <= asked


SPAN_KINDS = {WHO: "name", WHEN: "date", COUNT: "number", WHERE: "place"}
"""What an emphasised span holds, by question type (the front ends may style them differently)."""


def entity_spans(sentence: str, qtype: str, nlp: Any = None) -> list[tuple[int, int]]:
    """Character spans of what answers a who/when/how-many/where question, sorted, not overlapping.

    spaCy's entities when the model is loaded, else cheap patterns; none for other questions.
    """
    spans: list[tuple[int, int]] = []
    if qtype in _SPACY_LABELS:
        if nlp is not None:
            labels = _SPACY_LABELS[qtype]
            spans = [(e.start_char, e.end_char) for e in nlp(sentence).ents if e.label_ in labels]
        else:
            pattern = {WHEN: _DATE, COUNT: _NUMBER}.get(qtype, _NAME)
            first_word = re.match(r"^\W*\w+", sentence)
            skip = first_word.end() if first_word and pattern is _NAME else 0
            spans = [m.span() for m in pattern.finditer(sentence, skip)]
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if start >= end or (out and start < out[-1][1]):
            continue
        out.append((start, end))
    return out
