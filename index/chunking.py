"""Sentence-aware chunking: an article becomes overlapping windows of a few whole sentences.

Whole sentences matter twice: a chunk never cuts a fact in half, and the answer step quotes
sentences exactly as the article wrote them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from index.models import Article

MAX_CHUNK_WORDS = 160
"""Keeps a chunk (plus its title) under all-MiniLM-L6-v2's 256-token window."""


@dataclass(frozen=True)
class DraftChunk:
    """A chunk before it has a database id: its sentences are article sentence ordinals."""

    ordinal: int
    first_sentence: int
    last_sentence: int
    text: str


@lru_cache(maxsize=1)
def _splitter() -> Callable[[str], list[str]]:
    import nupunkt

    return nupunkt.sent_tokenize  # type: ignore[return-value]


BODY, CAPTION, BYLINE, DATELINE, CREDIT = "body", "caption", "byline", "dateline", "credit"
LABELS = {CAPTION: "Photo caption:", BYLINE: "Byline:", DATELINE: "Dateline:", CREDIT: "Credit:"}
"""How a non-body sentence is introduced in the text that is embedded and full-text indexed, so
"what does the photo show?" finds the caption; the stored sentence itself stays verbatim."""

_CAPTION = re.compile(
    r"(?:^(?:photo|picture|image|caption)s?\s*(?:\(|:))|(?:\b(?:photo|picture|image|file photo|credit)s?"
    r"\s*(?::|by)\s*[\w .,/&'()-]{1,60}\)?\s*$)",
    re.I,
)
_BYLINE = re.compile(r"^(?:[Bb]y|[Ff]rom)\s+[A-Z][\w.'-]+(?:\s+[A-Z][\w.'-]+){0,3}(?:\s*(?:,|and|&)\s*[\w .'-]+)?$")
_DATELINE = re.compile(r"^([A-Z][A-Z .,'-]{2,40}(?:\([\w .]+\))?\s*[-—–]{1,2})\s*\S")


def paragraph_kind(paragraph: str, *, last: bool) -> str:
    """What a paragraph is: a photo caption, a byline, a closing credit ("AFP"), or body text.

    Captions, bylines and credits are the article's own words and stay in it; knowing what they
    are lets them be found ("who took the photo?") without passing for the story's facts.
    """
    words = paragraph.split()
    if _CAPTION.search(paragraph) and len(words) <= 80:
        return CAPTION
    if len(words) <= 12 and _BYLINE.match(paragraph):
        return BYLINE
    if last and len(words) <= 4 and not re.search(r"[.!?]$", paragraph):
        return CREDIT
    return BODY


def split_marked(text: str) -> list[tuple[str, str]]:
    """``(sentence, kind)`` pairs: paragraphs first (a line break always ends a sentence), then
    nupunkt within each; a caption, byline or credit paragraph stays one piece."""
    out: list[tuple[str, str]] = []
    tokenize = _splitter()
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", text)]
    paragraphs = [p for p in paragraphs if p]
    for n, paragraph in enumerate(paragraphs):
        kind = paragraph_kind(paragraph, last=n == len(paragraphs) - 1 and n > 0)
        if kind != BODY:
            if re.search(r"[A-Za-z0-9]", paragraph):
                out.extend((piece, kind) for piece in _split_long(paragraph))
            continue
        dateline = _DATELINE.match(paragraph) if n <= 1 else None
        for i, sentence in enumerate(tokenize(paragraph)):
            sentence = sentence.strip()
            if re.search(r"[A-Za-z0-9]", sentence):
                kind_here = DATELINE if dateline and i == 0 else BODY
                out.extend((piece, kind_here) for piece in _split_long(sentence))
    return out


def split_sentences(text: str) -> list[str]:
    """The article's sentences, verbatim (see :func:`split_marked`)."""
    return [sentence for sentence, _ in split_marked(text)]


def _split_long(sentence: str) -> list[str]:
    """Break a run-on 'sentence' (lists, tables) so no piece overflows a chunk."""
    words = sentence.split()
    if len(words) <= MAX_CHUNK_WORDS:
        return [sentence]
    return [" ".join(words[i : i + MAX_CHUNK_WORDS]) for i in range(0, len(words), MAX_CHUNK_WORDS)]


def labelled(sentence: str, kind: str) -> str:
    """A sentence as it appears in embedded and full-text-indexed chunk text."""
    label = LABELS.get(kind)
    return f"{label} {sentence}" if label else sentence


def chunk_sentences(
    sentences: list[str], size: int, overlap: int, kinds: list[str] | None = None
) -> list[DraftChunk]:
    """Windows of ``size`` sentences sharing ``overlap`` with the previous one, capped in words."""
    if size < 1 or not 0 <= overlap < size:
        raise ValueError("chunk size must be >= 1 and overlap in [0, size)")
    chunks: list[DraftChunk] = []
    start = 0
    while start < len(sentences):
        end = start
        words = len(sentences[start].split())
        while end + 1 < len(sentences) and end + 1 - start < size:
            extra = len(sentences[end + 1].split())
            if words + extra > MAX_CHUNK_WORDS:
                break
            words += extra
            end += 1
        marks = kinds or [BODY] * len(sentences)
        text = " ".join(labelled(sentences[i], marks[i]) for i in range(start, end + 1))
        chunks.append(DraftChunk(len(chunks), start, end, text))
        if end + 1 >= len(sentences):
            break
        start = max(end + 1 - overlap, start + 1)
    return chunks


@dataclass(frozen=True)
class Chunked:
    """An article cut up: its sentences (verbatim), what each one is, and its chunks."""

    sentences: list[str]
    kinds: list[str]
    chunks: list[DraftChunk]


def chunk_article(article: Article, size: int = 4, overlap: int = 1) -> Chunked:
    """The article's sentences, their kinds and its chunks."""
    marked = split_marked(article.text)
    sentences, kinds = [m[0] for m in marked], [m[1] for m in marked]
    return Chunked(sentences, kinds, chunk_sentences(sentences, size, overlap, kinds))


def embedding_text(title: str, chunk_text: str) -> str:
    """What is embedded for a chunk: the title travels with every chunk of its article."""
    return f"{title}\n{chunk_text}" if title else chunk_text
