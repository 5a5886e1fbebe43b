"""What a feed poll hands the product: each new article as a reader sees it (id, title, outlet, date,
link, lead) and whether the build after it was published, so the bot never opens corpus files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from index.corpus import article_id_for, load_article, split_sentences
from index.errors import ArticleError
from index.feeds._fetch import FetchOptions
from index.feeds._reports import NewArticle, PollReport
from index.settings import Settings
from index.types import BuildReport

LEAD_MAX = 280
"""Characters of the lead sentence shown in an announcement (about one tweet)."""


@dataclass(frozen=True)
class FreshArticle:
    """A new article from a feed, as a reader sees it; ``article_id`` is its id in the index."""

    article_id: str
    title: str
    source: str
    url: str
    published: date | None
    lead: str
    summary_only: bool


@dataclass
class FeedPoll:
    """One poll of the due feeds and the incremental build after it.

    ``indexed``: the live index holds every new article; if another build held the lock,
    ``build_error`` says so and the next build indexes them."""

    report: PollReport
    articles: list[FreshArticle] = field(default_factory=list)
    build: BuildReport | None = None
    build_error: str | None = None

    @property
    def changed(self) -> bool:
        return self.report.changed

    @property
    def indexed(self) -> bool:
        return self.build_error is None

    @property
    def errors(self) -> list[str]:
        return self.report.errors


def fetch_options(settings: Settings) -> FetchOptions:
    """The ``POLICYBOT_FETCH_*`` settings as limits for one fetch."""
    return FetchOptions(
        max_bytes=settings.fetch_max_bytes,
        read_timeout=settings.fetch_timeout,
        deadline=max(settings.fetch_timeout * 2, settings.fetch_timeout + 5),
        allow_private=settings.fetch_allow_private,
    )


def lead_sentence(text: str, limit: int = LEAD_MAX) -> str:
    """The article's first sentence (whitespace collapsed), cut at a word when longer than ``limit``."""
    sentences = split_sentences(text)
    first = " ".join((sentences[0] if sentences else text).split())
    if len(first) <= limit:
        return first
    cut = first[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"


def fresh_article(new: NewArticle) -> FreshArticle:
    """The reader's view of a file a poll wrote (its lead from the article the poll parsed)."""
    try:
        lead = lead_sentence((new.article or load_article(new.path)).text)
    except (ArticleError, OSError):
        lead = ""
    return FreshArticle(
        article_id=article_id_for(Path(new.path)),
        title=new.title,
        source=new.source,
        url=new.url,
        published=new.published,
        lead=lead,
        summary_only=new.summary_only,
    )
