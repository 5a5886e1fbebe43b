"""Live news ingestion (issue 9): RSS/Atom feeds polled on a schedule, pages extracted, wire copies folded.

Standalone layer: it writes Markdown articles into the corpus (through ``index.corpus._write``) and
keeps feed state in ``<data>/feeds.sqlite``; it never builds the index. After a poll whose report
says ``changed``, the caller runs the engine's incremental build (only new files are embedded).
All network access goes through :func:`index.feeds._fetch.fetch` (SSRF-safe; see that module).

Modules, one job each: ``urls`` (canonical URLs), ``parse`` (feed bytes → items, entity attacks
refused), ``extract`` (page → text/title/authors/date), ``dedup`` (MinHash wire-copy detection,
``also_published_by``), ``store`` (SQLite state), ``poll`` (the pipeline), ``starter`` (the
shipped list of real feeds, all off).

Integration (synchronous: call from a worker thread, e.g. ``asyncio.to_thread``)::

    from index.feeds import FeedStore, FetchOptions, poll_due, add_url, install_starter_feeds

    store = FeedStore.open(data_dir)                  # one per process; thread-safe
    opts = FetchOptions(max_bytes=..., read_timeout=..., allow_private=settings.fetch_allow_private)

    # policybot feeds add URL [--name NAME] [--every MINUTES]
    store.add_feed(url, name=name or url, every_minutes=every)          # FeedError if taken
    # policybot feeds remove NAME|URL
    store.remove_feed(name_or_url)                                       # FeedError if unknown
    # policybot feeds list [--json]
    [f.as_dict() for f in store.list_feeds()]   # name, url, last_success, last_error, items_seen, articles_added…
    # enable a starter feed
    install_starter_feeds(store); store.update_feed("The Record", enabled=True)

    # policybot feeds poll [--once] / the bot's background task
    report = poll_due(store, corpus_dir, options=opts)
    if report.changed:
        engine.build()                            # incremental: embeds only the new files
    for art in report.new_articles: ...           # path, title, url, source, published, summary_only (announce)
    report.folded, report.errors                  # wire copies folded, "feed: reason" lines

    # policybot add URL / /index add url:
    path = add_url(url, corpus_dir, store, options=opts)   # FetchError / ArticleError with a short reason
    # or ingest_url(...) -> IngestResult(status="added"|"folded"|"duplicate", path, title, url)

Errors are ``PolicybotError`` subclasses (``FetchError``, ``FeedError``, ``FeedParseError``,
``ArticleError``): ``str(exc)`` is a short sentence fit to show a user. ``poll_due`` itself never
raises for a bad feed or page; it records ``last_error`` and backs off (interval × 2^failures,
at most 24 h), keeping the feed's last good state.
"""

from __future__ import annotations

from index.corpus._html import Extracted, extract_article
from index.feeds._dedup import THRESHOLD, add_also_published_by
from index.feeds._fetch import FetchError, FetchOptions, FetchResult, fetch
from index.feeds._parse import FeedItem, FeedParseError, ParsedFeed, parse_feed
from index.feeds._poll import (
    FeedReport,
    FoldedCopy,
    IngestResult,
    NewArticle,
    PollReport,
    add_url,
    ingest_url,
    poll_due,
    sync_corpus,
)
from index.feeds._starter import StarterFeed, install_starter_feeds, load_starter_feeds
from index.feeds._store import FeedError, FeedState, FeedStore, backoff_delay
from index.feeds._urls import canonical_url

__all__ = [
    "THRESHOLD",
    "Extracted",
    "FeedError",
    "FeedItem",
    "FeedParseError",
    "FeedReport",
    "FeedState",
    "FeedStore",
    "FetchError",
    "FetchOptions",
    "FetchResult",
    "FoldedCopy",
    "IngestResult",
    "NewArticle",
    "ParsedFeed",
    "PollReport",
    "StarterFeed",
    "add_also_published_by",
    "add_url",
    "backoff_delay",
    "canonical_url",
    "extract_article",
    "fetch",
    "ingest_url",
    "install_starter_feeds",
    "load_starter_feeds",
    "parse_feed",
    "poll_due",
    "sync_corpus",
]
