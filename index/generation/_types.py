"""The values the generation layer hands around: passages in, a checked written answer out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

MAX_TOKENS = 320
"""Four cited sentences fit easily; a cap keeps a rambling model inside the time budget."""

PASSED = "passed"
"""``Written.checker`` when the text may be sent; anything else is the reason it may not."""


@dataclass(frozen=True)
class Passage:
    """One numbered passage the model may quote from; ``number`` is what the model cites as [n].

    The caller builds these from the extractive answer's quoted sentences plus a little context,
    so the written answer can never draw on anything the extractive stage did not choose.
    """

    number: int
    title: str
    source: str
    published: date | None
    text: str


@dataclass(frozen=True)
class Reading:
    """What the reader found, which a written answer must carry: its answer words (None when none),
    the first quoted sentence (whose facts stand in for them), and the best story's passage, where
    every number of the written answer must stand."""

    short_answer: str | None
    best_sentence: str
    story: Passage


@dataclass(frozen=True)
class Written:
    """One attempt to write an answer: ``generated`` only when ``text`` passed the checker (else
    ``text`` is empty and the extractive answer is sent); ``checker``: "passed" or the reason;
    ``draft``: what the model wrote, for logs and evaluation, never for users."""

    text: str
    generated: bool
    checker: str
    citations: tuple[int, ...]
    backend: str
    ms: float
    draft: str = ""


class GenerationError(Exception):
    """A backend could not produce text; ``reason`` is short, safe to log, and free of secrets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
