"""What the digest and the gap report hand their front ends: frozen values, no markup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from index.types import ArticleHit, Citation


@dataclass(frozen=True)
class Story:
    """One story of the period: one sentence quoted verbatim from ``sources[0]``, and every outlet
    that carried it (other articles of the story, and wire copies recorded in ``also_published_by``)."""

    quote: str
    sources: tuple[Citation, ...]
    published: date

    @property
    def outlets(self) -> int:
        """Distinct outlets that carried the story (how widely it was covered)."""
        return len({(c.source or c.url).casefold() for c in self.sources})

    def to_json(self) -> dict[str, Any]:
        return {
            "published": self.published.isoformat(),
            "quote": self.quote,
            "outlets": self.outlets,
            "sources": [c.to_json() for c in self.sources],
        }


@dataclass(frozen=True)
class Digest:
    """The stories published from ``since`` to ``until`` (both included), newest first; ``more``
    counts the stories left out to keep it short."""

    since: date
    until: date
    stories: tuple[Story, ...]
    articles: int
    more: int
    index_version: str

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "articles": self.articles,
            "more": self.more,
            "index_version": self.index_version,
            "stories": [s.to_json() for s in self.stories],
        }


@dataclass(frozen=True)
class QuestionGroup:
    """Questions that ask the same thing: ``members`` index the caller's list, the most central
    first; ``nearest`` is the live article closest to them (its score a cosine), None when the
    index is empty."""

    members: tuple[int, ...]
    nearest: ArticleHit | None
