"""The gate between a model's text and the user: every sentence cites passages that exist and hold
its names, dates, numbers and links (users follow citations), instructions only as verbatim quotes,
and the text carries what the reader found (``_relevance``); the first failure is the reason returned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from index.generation._citations import cited, strip_markers, tidy
from index.generation._directives import is_instruction, quoted_verbatim, unsupported_link
from index.generation._facts import Sources, claims
from index.generation._relevance import relevance
from index.generation._types import PASSED, Passage, Reading

SPACY_WAIT_S = 30.0
_AUTO: Any = object()
_REFUSAL = re.compile(
    r"\bI (?:cannot|can't|can not|could not|couldn't|am unable to|do not know|don't know)\b"
    r"|\b(?:cannot|can't) tell\b"
    r"|\b(?:the|these|provided) (?:passages?|sources?|context) (?:do|does|did)(?: not|n't)\b"
    r"|\bnot (?:mentioned|stated|specified|given) in the (?:passages?|sources?)\b",
    re.I,
)
"""How a model says the passages do not answer: news text never talks about "the passages"."""


_BARE_YES_NO = re.compile(r"(?:Yes|No)[.,!]?", re.I)
_BARE_YES_NO_START = re.compile(r"^(?:Yes|No)\b[.,!]?\s*", re.I)


def _spacy() -> Any:
    from index.models import ner

    return ner.get(wait=SPACY_WAIT_S)


@lru_cache(maxsize=1)
def _splitter() -> Any:
    import nupunkt

    return nupunkt.sent_tokenize


def sentences(text: str) -> list[str]:
    """Sentences of a tidy text; a piece holding only markers joins the sentence before it, and a
    bare "Yes." the sentence after it."""
    out: list[str] = []
    for piece in _splitter()(text):
        piece = piece.strip()
        if out and not re.search(r"[A-Za-z0-9]", strip_markers(piece)):
            out[-1] = f"{out[-1]} {piece}"
        elif out and _BARE_YES_NO.fullmatch(out[-1]):
            out[-1] = f"{out[-1]} {piece}"  # "Yes." is answered for by the sentence after it
        elif piece:
            out.append(piece)
    return out


def _cites(numbers: Sequence[int]) -> str:
    return "[" + ", ".join(str(n) for n in numbers) + "]"


def check(
    text: str, passages: Sequence[Passage], *, question: str = "", reading: Reading | None = None, nlp: Any = _AUTO
) -> str:
    """``"passed"`` or why ``text`` must not be sent; with a ``reading``, it must also answer ``question``
    with what the reader found. ``nlp``: spaCy (by default the shared en_core_web_sm, waited for up
    to ``SPACY_WAIT_S``), or None for patterns, where capitalised words stand in for names (stricter)."""
    body = tidy(text)
    if not strip_markers(body):
        return "empty answer"
    if _REFUSAL.search(strip_markers(body)):
        return "the model could not tell from the passages"
    by_number = {p.number: p for p in passages}
    parts = sentences(body)
    for i, sentence in enumerate(parts, 1):
        numbers = cited(sentence)
        if not numbers:
            return f"no citation in sentence {i}"
        missing = [n for n in numbers if n not in by_number]
        if missing:
            return f"cites [{missing[0]}] which does not exist"
    pipeline = _spacy() if nlp is _AUTO else nlp
    for i, sentence in enumerate(parts, 1):
        numbers = cited(sentence)
        sources = _sources(tuple(by_number[n] for n in numbers))
        plain = _BARE_YES_NO_START.sub("", strip_markers(sentence))
        link = unsupported_link(plain, sources.text)
        if link is not None:
            return f"'{link}' is not in the cited passages {_cites(numbers)}"
        if is_instruction(plain) and not quoted_verbatim(plain, sources.text):
            return f"sentence {i} tells the reader to do something the cited passages {_cites(numbers)} do not say"
        for claim in claims(plain, pipeline):
            if not sources.states(claim):
                return f"'{claim.text}' is not in the cited passages {_cites(numbers)}"
    return PASSED if reading is None else relevance(body, question, reading, pipeline)


def _sources(passages: tuple[Passage, ...]) -> Sources:
    return Sources.of((f"{p.title}\n{p.source}\n{p.text}", p.published) for p in passages)
