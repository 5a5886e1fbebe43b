"""Live news ingestion: RSS/Atom feeds polled on a schedule, pages fetched safely, wire copies folded.

Feeds write Markdown articles into the corpus and keep their state in ``<data>/feeds.sqlite``; the
engine's build indexes what a poll wrote. All network access goes through ``_fetch`` (SSRF-safe).
"""

from index.feeds import _dedup as dedup
from index.feeds._live import FeedPoll, FreshArticle
from index.feeds._opml import OpmlError, OpmlImport
from index.feeds._service import Feeds
from index.feeds._starter import load_starter_feeds
from index.feeds._store import (
    DEFAULT_EVERY_MINUTES,
    ArticleRecord,
    FeedAlert,
    FeedError,
    FeedState,
    FeedStore,
    utcnow,
)
from index.feeds._watch_vectors import question_vector

__all__ = [
    "DEFAULT_EVERY_MINUTES",
    "ArticleRecord",
    "FeedAlert",
    "FeedError",
    "FeedPoll",
    "FeedState",
    "FeedStore",
    "Feeds",
    "FreshArticle",
    "OpmlError",
    "OpmlImport",
    "dedup",
    "load_starter_feeds",
    "question_vector",
    "utcnow",
]
