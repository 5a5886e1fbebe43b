"""The engine's data, as frozen dataclasses: every stage hands the next one of these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Article:
    """One news article as read from ``corpus/``; ``id`` is its file name without the suffix."""

    id: str
    path: str
    title: str
    source: str
    url: str
    published: date | None
    text: str
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    content_hash: str = ""


@dataclass(frozen=True)
class Chunk:
    """A window of consecutive sentences of one article; the unit that is embedded and searched."""

    id: int
    article_id: str
    ordinal: int
    text: str
    first_sentence: int
    last_sentence: int


@dataclass(frozen=True)
class Source:
    """Where an answer came from: enough to cite it and to check the quote."""

    article_id: str
    title: str
    source: str
    url: str
    published: date | None
    quote: str
    score: float

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["published"] = self.published.isoformat() if self.published else None
        data["score"] = round(self.score, 4)
        return data


@dataclass(frozen=True)
class Answer:
    """An extractive answer: ``text`` marks key names, dates and numbers with ``**bold**``."""

    question: str
    answerable: bool
    text: str
    sources: tuple[Source, ...] = ()
    confidence: float = 0.0
    ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answerable": self.answerable,
            "answer": self.text,
            "sources": [s.to_json() for s in self.sources],
            "confidence": round(self.confidence, 4),
            "ms": round(self.ms, 1),
        }


@dataclass(frozen=True)
class ArticleHit:
    """One article ranked for a query (``/search``, evaluation baselines)."""

    article_id: str
    title: str
    source: str
    url: str
    published: date | None
    score: float
    snippet: str = ""


@dataclass(frozen=True)
class IndexStats:
    """What the live index holds, for ``policybot stats`` and ``/about``."""

    version: str
    articles: int
    chunks: int
    sentences: int
    newest_published: date | None
    oldest_published: date | None
    built_at: str
    model: str
    data_dir: str


@dataclass(frozen=True)
class BuildProgress:
    """Reported during a build, so the CLI can draw a bar and the bot can edit a message."""

    stage: str
    done: int
    total: int


@dataclass(frozen=True)
class BuildReport:
    """What a finished build did."""

    version: str
    articles: int
    added: int
    changed: int
    removed: int
    unchanged: int
    chunks_total: int
    chunks_embedded: int
    seconds: float
    errors: tuple[tuple[str, str], ...] = field(default=())
