"""Whether a grounded written answer says what the reader found: a small model can cite a passage
and still restate the question, or bring a number of another story that a cited passage holds. So it
must carry the short answer (else a fact of the best quoted sentence), its numbers from the best story.
"""

from __future__ import annotations

import re
from typing import Any

from index.generation._citations import strip_markers, tidy
from index.generation._facts import Sources, claims
from index.generation._types import PASSED, Passage, Reading
from index.terms import content_terms, stem, tokens

_FILLER = frozenset({"a", "an", "the", "and"})
"""Words a faithful paraphrase of a list or a name may add or drop ("X, Y, and the Z")."""


def relevance(text: str, question: str, reading: Reading, nlp: Any) -> str:
    """``"passed"`` or why ``text`` misses what the reader found. ``nlp``: spaCy or None (patterns)."""
    body = strip_markers(tidy(text))
    if _terms(body) <= _terms(question):
        return "the written answer only restates the question"
    story = _story(reading.story)
    for claim in claims(body, None):
        if claim.kind == "number" and not story.states(claim):
            return f"'{claim.text}' is not in the best story [{reading.story.number}]"
    said = Sources.of([(body, None)])
    if reading.short_answer:
        if carries(body, reading.short_answer, said):
            return PASSED
        return f"the written answer leaves out the reader's answer '{reading.short_answer}'"
    asked = Sources.of([(question, None)])
    facts = [c for c in claims(reading.best_sentence, nlp) if not asked.states(c)]
    if facts:
        if any(said.states(c) for c in facts):
            return PASSED
        return "the written answer carries no name, date or number of the best quoted sentence"
    found = _terms(reading.best_sentence) - _terms(question)
    if found and not found & _terms(body):
        return "the written answer carries nothing of the best quoted sentence"
    return PASSED


def carries(body: str, short_answer: str, said: Sources | None = None) -> bool:
    """The short answer's words in order (case, punctuation, articles and "and" aside), or else
    each of its numbers and dates in any written form ("$4.4 million", "4.4 million dollars")."""
    if f" {_words(short_answer)} " in f" {_words(body)} ":
        return True
    facts = [c for c in claims(short_answer, None) if c.kind in ("number", "date")]
    said = said or Sources.of([(body, None)])
    return bool(facts) and all(said.states(c) for c in facts)


def _words(text: str) -> str:
    """Lower-case words without fillers, dots inside abbreviations dropped ("U.S." is "us")."""
    words = (re.sub(r"(?<=[a-z])\.(?=[a-z])", "", t) for t in tokens(text))
    return " ".join(w for w in words if w not in _FILLER)


def _terms(text: str) -> set[str]:
    """Content words as light stems, a final "e" dropped too ("pledge" and "pledges" are one)."""
    return {stem(t).removesuffix("e") for t in content_terms(text)}


def _story(passage: Passage) -> Sources:
    return Sources.of([(f"{passage.title}\n{passage.source}\n{passage.text}", passage.published)])
