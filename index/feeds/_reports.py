"""What a poll or an added page reports: the files written, the wire copies folded, each feed's
outcome. Plain values, so the product (announcements, watches, the CLI) never reads corpus files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from index.types import Article


@dataclass(frozen=True)
class NewArticle:
    """A file written into the corpus (``article``: as the corpus loader parsed it before writing)."""

    path: Path
    title: str
    url: str
    source: str
    published: date | None
    summary_only: bool
    article: Article | None = None


@dataclass(frozen=True)
class FoldedCopy:
    """A wire copy recorded in an existing article's ``also_published_by`` instead of a new file."""

    path: Path
    url: str
    source: str
    score: float


@dataclass
class FeedReport:
    """What one feed's poll did. ``status``: ok, not_modified (304) or failed (see ``error``)."""

    feed: str
    status: Literal["ok", "not_modified", "failed"] = "ok"
    error: str | None = None
    new: list[NewArticle] = field(default_factory=list)
    folded: list[FoldedCopy] = field(default_factory=list)
    duplicates: int = 0
    item_errors: list[str] = field(default_factory=list)


@dataclass
class PollReport:
    """Per-feed results of one :func:`poll_due` call."""

    started: datetime
    feeds: list[FeedReport] = field(default_factory=list)

    @property
    def new_articles(self) -> list[NewArticle]:
        return [a for f in self.feeds for a in f.new]

    @property
    def folded(self) -> list[FoldedCopy]:
        return [c for f in self.feeds for c in f.folded]

    @property
    def errors(self) -> list[str]:
        """Feed failures and item failures, each prefixed with the feed name."""
        out = [f"{f.feed}: {f.error}" for f in self.feeds if f.error]
        return out + [f"{f.feed}: {e}" for f in self.feeds for e in f.item_errors]

    @property
    def changed(self) -> bool:
        """Whether the corpus changed (so the caller should run an incremental build)."""
        return bool(self.new_articles or self.folded)


@dataclass(frozen=True)
class IngestResult:
    """Outcome of adding one page: ``added`` (new file), ``folded`` (wire copy), ``duplicate`` (URL known)."""

    status: Literal["added", "folded", "duplicate"]
    path: Path
    title: str
    url: str
    score: float | None = None
    article: Article | None = None
    """A new file's article as the corpus loader parsed it (None unless ``added``)."""
