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


def split_sentences(text: str) -> list[str]:
    """Paragraphs first (a line break always ends a sentence), then nupunkt within each."""
    sentences: list[str] = []
    tokenize = _splitter()
    for paragraph in re.split(r"\n\s*\n|\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        for sentence in tokenize(paragraph):
            sentence = sentence.strip()
            if re.search(r"[A-Za-z0-9]", sentence):
                sentences.extend(_split_long(sentence))
    return sentences


def _split_long(sentence: str) -> list[str]:
    """Break a run-on 'sentence' (lists, tables) so no piece overflows a chunk."""
    words = sentence.split()
    if len(words) <= MAX_CHUNK_WORDS:
        return [sentence]
    return [" ".join(words[i : i + MAX_CHUNK_WORDS]) for i in range(0, len(words), MAX_CHUNK_WORDS)]


def chunk_sentences(sentences: list[str], size: int, overlap: int) -> list[DraftChunk]:
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
        chunks.append(DraftChunk(len(chunks), start, end, " ".join(sentences[start : end + 1])))
        if end + 1 >= len(sentences):
            break
        start = max(end + 1 - overlap, start + 1)
    return chunks


def chunk_article(article: Article, size: int = 4, overlap: int = 1) -> tuple[list[str], list[DraftChunk]]:
    """The article's sentences and its chunks."""
    sentences = split_sentences(article.text)
    return sentences, chunk_sentences(sentences, size, overlap)


def embedding_text(title: str, chunk_text: str) -> str:
    """What is embedded for a chunk: the title travels with every chunk of its article."""
    return f"{title}\n{chunk_text}" if title else chunk_text
