"""Feeds for the engine (``engine.feeds``): their state, polls into the corpus, the build after a poll.

The bot and the command line share this one door, so ``/feeds`` and ``policybot feeds`` behave
alike; every corpus change a poll makes is owed to the next build until one indexes it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from index.corpus import article_id_for
from index.database import database_url
from index.errors import BuildLockedError
from index.feeds._live import FeedPoll, fetch_options, fresh_article
from index.feeds._opml import OpmlImport, export_opml, import_opml
from index.feeds._poll import add_url, poll_due
from index.feeds._starter import install_starter_feeds
from index.feeds._store import FeedAlert, FeedError, FeedState, FeedStore
from index.settings import Settings
from index.store import owed, owing
from index.types import BuildProgress, BuildReport

log = logging.getLogger(__name__)


class Build(Protocol):
    """The engine's incremental build (so the engine switches to the version it publishes)."""

    def __call__(
        self, *, progress: Callable[[BuildProgress], None] | None = None, changed: Sequence[Path] | None = None
    ) -> BuildReport: ...


class Feeds:
    """Thread-safe; the feed state (``<data>/feeds.sqlite``, or the database's) is opened on first use, once."""

    def __init__(self, settings: Settings, build: Build) -> None:
        self.settings = settings
        self._build = build
        self._store: FeedStore | None = None
        self._lock = threading.Lock()

    def store(self) -> FeedStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = FeedStore.open(self.settings.data_dir, database_url(self.settings))
        return self._store

    def all(self) -> list[FeedState]:
        """Every feed with its state (last success, last error, items seen, articles added), by name."""
        return self.store().list_feeds()

    def add(self, url: str, *, name: str | None = None, every_minutes: int = 60) -> FeedState:
        """Add a feed (due at once); FeedError when the name or URL is taken or the interval too short."""
        url = url.strip()
        if not url.lower().startswith(("http://", "https://")):
            raise FeedError("a feed URL must start with http:// or https://")
        return self.store().add_feed(url, name=name or url, every_minutes=every_minutes)

    def remove(self, name_or_url: str) -> FeedState:
        """Stop polling a feed; its articles stay in the corpus and its items stay seen."""
        return self.store().remove_feed(name_or_url)

    def enable(self, name_or_url: str, enabled: bool = True) -> FeedState:
        """Turn a feed on (due at once) or off."""
        return self.store().update_feed(name_or_url, enabled=enabled)

    def install_starter(self) -> list[str]:
        """Add the shipped starter list (all off); returns the names that were new."""
        return install_starter_feeds(self.store())

    def import_opml(self, data: bytes) -> OpmlImport:
        """Follow the feeds of an OPML list (those already followed are left as they are); OpmlError
        when the file is refused, and each outline that cannot be used is listed in ``skipped``."""
        return import_opml(self.store(), data)

    def export_opml(self) -> bytes:
        """Every feed as an OPML 2.0 document (interval, on/off and kind kept, for our own imports)."""
        return export_opml(self.all())

    def pending_alerts(self) -> list[FeedAlert]:
        """Failing and recovered feeds the moderators have not been told about yet (kept across restarts)."""
        return self.store().pending_alerts()

    def alert_delivered(self, alert: FeedAlert) -> bool:
        """Record that ``alert`` was posted, so it is never posted again."""
        return self.store().alert_delivered(alert)

    def next_due(self) -> datetime | None:
        """When the next enabled feed is due (None when no feed is enabled)."""
        due = [f.next_due for f in self.all() if f.enabled]
        return min(due) if due else None

    def poll(
        self,
        *,
        now: datetime | None = None,
        progress: Callable[[BuildProgress], None] | None = None,
        build: bool = False,
    ) -> FeedPoll:
        """Poll every due feed, then build incrementally when the corpus changed (or ``build``).

        Bad feeds and pages go in the report, never raised; if another build holds the lock the new
        articles are owed to the next build (``build_error`` says so). The live index keeps serving."""
        data_dir = self.settings.data_dir
        # Owed from before this poll writes anything until a build indexes it: a poll killed after
        # writing articles (or during its build) leaves the record, so the next poll builds.
        with owing(data_dir, None) as written:
            report = poll_due(
                self.store(),
                self.settings.corpus_dir,
                now=now,
                options=fetch_options(self.settings),
                alert_after=self.settings.feeds_alert_after,
            )
            written += [a.path for a in report.new_articles] + [c.path for c in report.folded]
        result = FeedPoll(report, [fresh_article(a) for a in report.new_articles])
        if report.changed or build or owed(data_dir).records:
            # the build adds whatever is owed (this poll's files, changes whose builds were refused)
            try:
                result.build = self._build(progress=progress, changed=None if build else written)
            except BuildLockedError as exc:
                result.build_error = str(exc)
                log.warning("feeds: new articles not indexed yet: %s", exc)
        return result

    def add_url(self, url: str) -> str:
        """Fetch one page safely, extract it and add it (or find the article it duplicates); returns
        the article id. The caller reindexes. Raises FetchError or ArticleError with a short reason."""
        with owing(self.settings.data_dir, None) as written:
            written.append(add_url(url, self.settings.corpus_dir, self.store(), options=fetch_options(self.settings)))
        return article_id_for(written[-1])
