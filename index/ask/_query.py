"""A question, understood once: the value that retrieval and answer composition both read.

Building the vector, the terms, the question type and the time hint in one place means every
stage (and the abstention calibration script) sees exactly the same reading of the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import numpy as np

from index.ask._entities import counted_words, question_type
from index.dates import TimeHint, parse_time
from index.errors import QuestionError
from index.terms import content_terms

MIN_QUESTION, MAX_QUESTION = 3, 500
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
"""Control, zero-width and bidirectional-override characters: they can hide or reorder text in the
reply (its title repeats the question). Joiners (U+200C/D) stay: emoji and some scripts need them."""


@dataclass(frozen=True)
class Filters:
    """Hard limits from the user (``--source``, ``--since``, ``--until``, ``/ask source:``)."""

    source: str | None = None
    since: date | None = None
    until: date | None = None

    def active(self) -> bool:
        return bool(self.source or self.since or self.until)


@dataclass(frozen=True, eq=False)
class Query:
    """Everything the engine knows about one question: ``text`` as asked, ``retrieval_text`` with the
    previous question for a follow-up, and ``asked_on``, the day "last week" and "latest" are relative to."""

    text: str
    retrieval_text: str
    vector: np.ndarray
    terms: tuple[str, ...]
    qtype: str
    time: TimeHint | None
    asked_on: date
    filters: Filters = field(default_factory=Filters)
    previous: str | None = None
    dated: bool = False
    """True when the day of asking is known (a Discord message, a dated ``ask --jsonl`` line), not
    just assumed: news questions are mostly about the days before they were asked."""
    counted: frozenset[str] = frozenset()
    """What a how-many or how-much question counts (stemmed words; empty for other questions)."""
    rescore_vector: np.ndarray | None = None
    """The question encoded by the re-scoring model (``POLICYBOT_RESCORE_MODEL``) with its query
    prompt; None when no re-scorer is configured. Compare it with ``Snapshot.rescore_chunk_vectors``
    and ``Snapshot.rescore_sentence_vectors`` only (another vector space than ``vector``)."""


_CUES = re.compile(
    r"^(and|also|but|so|what about|how about|and what|then)\b|\b(else|also|too|they|them|their|it|its|he|she|"
    r"his|her|that|those|these|there|this one|the same)\b",
    re.I,
)


def is_follow_up(question: str) -> bool:
    """Short and leaning on something said before (a pronoun, 'else', a leading 'and')."""
    return len(content_terms(question)) <= 4 and bool(_CUES.search(question.strip()))


def contextualize(question: str, previous: str | None) -> str:
    """The text to retrieve with: the question alone, or joined to the previous one."""
    if previous and is_follow_up(question):
        return f"{previous.strip()} {question.strip()}"
    return question


class QueryEncoder(Protocol):
    def encode_query(self, text: str) -> np.ndarray: ...


def check_question(question: str) -> str:
    """The question without invisible characters and with its whitespace collapsed, or a
    QuestionError saying what is wrong with it."""
    text = " ".join(_INVISIBLE.sub("", question or "").split())
    if len(text) < MIN_QUESTION or not any(ch.isalnum() for ch in text):
        raise QuestionError(f"Please ask a question of at least {MIN_QUESTION} characters.")
    if len(text) > MAX_QUESTION:
        raise QuestionError(f"Please keep questions under {MAX_QUESTION} characters (yours has {len(text)}).")
    return text


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def question_from_text(text: str) -> str:
    """A message's text as a question: whole when it fits, else its first sentences up to the limit
    (a first sentence that alone is too long is cut at a word), then checked like any question."""
    text = " ".join(_INVISIBLE.sub("", text or "").split())
    if len(text) <= MAX_QUESTION:
        return check_question(text)
    kept = ""
    for sentence in _SENTENCE_END.split(text):
        longer = f"{kept} {sentence}".strip()
        if len(longer) > MAX_QUESTION:
            break
        kept = longer
    if not kept:
        kept = text[: MAX_QUESTION + 1].rsplit(" ", 1)[0][:MAX_QUESTION]
    return check_question(kept)


def build_query(
    question: str,
    encoder: QueryEncoder,
    *,
    asked_on: date,
    filters: Filters | None = None,
    previous: str | None = None,
    dated: bool = False,
    rescorer: QueryEncoder | None = None,
) -> Query:
    """Check, contextualise and encode a question (one model call, two with a ``rescorer``)."""
    text = check_question(question)
    retrieval_text = contextualize(text, previous)
    return Query(
        text=text,
        retrieval_text=retrieval_text,
        vector=encoder.encode_query(retrieval_text),
        terms=tuple(content_terms(retrieval_text)),
        qtype=question_type(text),
        counted=counted_words(text),
        time=parse_time(retrieval_text, asked_on),
        asked_on=asked_on,
        filters=filters or Filters(),
        previous=previous,
        dated=dated,
        rescore_vector=rescorer.encode_query(retrieval_text) if rescorer is not None else None,
    )
