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

    @property
    def citation(self) -> Citation:
        return Citation(self.id, self.title, self.source, self.url, self.published)


@dataclass(frozen=True)
class Citation:
    """What identifies an article to a reader; one type for answers, search hits and the store."""

    article_id: str
    title: str
    source: str
    url: str
    published: date | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["published"] = self.published.isoformat() if self.published else None
        return data


@dataclass(frozen=True)
class Span:
    """A stretch of an answer's plain text worth emphasising: ``kind`` is name, date, number or place.

    The engine never writes markup; each front end (Discord Markdown, the console) renders spans
    its own way.
    """

    start: int
    end: int
    kind: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Source:
    """Where an answer came from: the article, and the sentences quoted from it."""

    citation: Citation
    quote: str
    score: float

    @property
    def article_id(self) -> str:
        return self.citation.article_id

    def to_json(self) -> dict[str, Any]:
        return {**self.citation.to_json(), "quote": self.quote, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Answer:
    """An extractive answer: plain ``text`` with ``[n]`` citation markers, spans to emphasise,
    the sources the markers point at, and the index version it was read from."""

    question: str
    answerable: bool
    text: str
    spans: tuple[Span, ...] = ()
    sources: tuple[Source, ...] = ()
    confidence: float = 0.0
    ms: float = 0.0
    index_version: str = ""
    # Written answers (issue 10): ``text`` is the model's checked text when ``generated``; the
    # extractive text is always kept in ``quoted``; ``checker`` is "passed", the reason the
    # written text was not used, or "off". ``extra`` holds sentences of the next ranked articles
    # the model may also cite (never shown unless cited).
    generated: bool = False
    checker: str = ""
    quoted: str = ""
    extra: tuple[Source, ...] = field(default=(), repr=False)
    # The reader's answer words, verbatim from one of the quoted sentences (None when it found none).
    short_answer: str | None = None
    # An ambiguous question (close readings from different stories): the other stories' answers,
    # best first; this answer is the first story's.
    alternatives: tuple[Answer, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answerable": self.answerable,
            "answer": self.text,
            "spans": [s.to_json() for s in self.spans],
            "sources": [s.to_json() for s in self.sources],
            "confidence": round(self.confidence, 4),
            "ms": round(self.ms, 1),
            "index_version": self.index_version,
            "generated": self.generated,
            "checker": self.checker,
            "quoted": self.quoted,
            "short_answer": self.short_answer,
            "alternatives": [alt.to_json() for alt in self.alternatives],
        }


@dataclass(frozen=True)
class ArticleHit:
    """One article ranked for a query (``/search``, evaluation baselines)."""

    citation: Citation
    score: float
    snippet: str = ""

    @property
    def article_id(self) -> str:
        return self.citation.article_id


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
    build_running: str = ""


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
