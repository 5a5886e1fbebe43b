"""Feed state in SQLite (WAL, ``synchronous=FULL``) or PostgreSQL: feeds, items seen, article signatures.
A corpus file is written and synced first, then recorded in one transaction, so a crash or power cut
leaves at most a file not yet recorded (``sync_corpus`` records it), never a record without its file."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np

from index.database import AdvisoryLock, RowExistsError, StateDb, postgres_ddl
from index.durability import synced
from index.errors import PolicybotError
from index.feeds._dedup import band_keys, from_blob, to_blob

DB_NAME = "feeds.sqlite"
DEFAULT_EVERY_MINUTES = 60
MIN_EVERY_MINUTES = 5
MAX_BACKOFF = timedelta(hours=24)
DEFAULT_ALERT_AFTER = 3
"""Failed polls in a row after which a feed is reported as failing (``POLICYBOT_FEEDS_ALERT_AFTER``)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    every_minutes INTEGER NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    etag TEXT,
    last_modified TEXT,
    last_success TEXT,
    last_error TEXT,
    last_error_at TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_due TEXT NOT NULL,
    items_seen INTEGER NOT NULL DEFAULT 0,
    articles_added INTEGER NOT NULL DEFAULT 0,
    added_at TEXT NOT NULL,
    item_errors TEXT,
    kind TEXT,
    alert_state TEXT
);
CREATE TABLE IF NOT EXISTS items (
    feed TEXT NOT NULL,
    guid TEXT NOT NULL,
    canonical_url TEXT NOT NULL,
    path TEXT,
    status TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (feed, guid)
);
CREATE INDEX IF NOT EXISTS items_url ON items (canonical_url);
CREATE TABLE IF NOT EXISTS articles (
    path TEXT PRIMARY KEY,
    canonical_url TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    signature BLOB
);
CREATE INDEX IF NOT EXISTS articles_url ON articles (canonical_url);
CREATE TABLE IF NOT EXISTS article_bands (
    band INTEGER NOT NULL,
    key INTEGER NOT NULL,
    article INTEGER NOT NULL,
    PRIMARY KEY (band, key, article)
) WITHOUT ROWID;
"""
_NAMES = {
    "feeds": "pb_feeds",
    "items": "pb_feed_items",
    "items_url": "pb_feed_items_url",
    "articles": "pb_feed_articles",
    "articles_url": "pb_feed_articles_url",
    "article_bands": "pb_feed_bands",
}
_PG_ROWID = "path TEXT PRIMARY KEY,"
"""PostgreSQL has no ``rowid``: the articles table gets an identity column of that name."""
SCHEMA_VERSION = 2
"""``PRAGMA user_version``: 1 added ``feeds.item_errors`` and the LSH rows of ``article_bands``; 2
added ``feeds.kind`` and ``feeds.alert_state``. The LSH rows (one per band of each stored signature, written with the article rows) name articles by
rowid, which ``VACUUM`` may renumber: after one, set ``user_version = 0`` and the next open rebuilds them."""
MAX_ERROR_CHARS = 500
log = logging.getLogger(__name__)


class FeedError(PolicybotError):
    """A feed command could not be done (unknown feed, name taken…); ``str(exc)`` says why."""


AlertKind = Literal["failing", "recovered"]

# ``feeds.alert_state``: NULL (healthy, or failing but not yet for long), then the pending alert
# and what was told. Each transition is written in the transaction that records the poll, so a
# restart neither forgets an alert owed nor sends one twice.
DOWN_PENDING, DOWN_SENT, UP_PENDING = "down_pending", "down_sent", "up_pending"


@dataclass(frozen=True)
class FeedAlert:
    """A message owed to the moderators: the feed failed ``failures`` polls in a row (``failing``),
    or works again after such an alert (``recovered``). Delivered once: see ``alert_delivered``."""

    feed: str
    url: str
    kind: AlertKind
    failures: int
    error: str | None
    since: datetime | None


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (all stored times are UTC)."""
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class FeedState:
    """One feed as stored. ``last_error`` is None after a success; the etag is kept across failures.

    ``item_errors`` lists the items the last full poll could not ingest (the feed itself worked).
    """

    name: str
    url: str
    every_minutes: int
    enabled: bool
    etag: str | None
    last_modified: str | None
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_due: datetime
    items_seen: int
    articles_added: int
    added_at: datetime
    item_errors: str | None = None
    kind: str | None = None
    alert_state: str | None = None

    @property
    def failing(self) -> bool:
        """Reported as failing (its alert is owed or was sent, and it has not worked since)."""
        return self.alert_state in (DOWN_PENDING, DOWN_SENT)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields (for ``policybot feeds list --json``)."""
        return {
            "name": self.name,
            "url": self.url,
            "every_minutes": self.every_minutes,
            "enabled": self.enabled,
            "last_success": _iso(self.last_success),
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_at),
            "consecutive_failures": self.consecutive_failures,
            "next_due": _iso(self.next_due),
            "items_seen": self.items_seen,
            "articles_added": self.articles_added,
            "item_errors": self.item_errors,
            "kind": self.kind,
            "failing": self.failing,
        }


@dataclass(frozen=True)
class KnownArticle:
    """A corpus file the store has recorded (path relative to the corpus folder)."""

    path: str
    canonical_url: str
    mtime_ns: int
    size: int


@dataclass(frozen=True)
class ArticleRecord:
    """A corpus file to record: path relative to the corpus, URL, stat, and MinHash signature (or None)."""

    path: str
    canonical_url: str
    mtime_ns: int
    size: int
    signature: np.ndarray | None


def backoff_delay(every_minutes: int, failures: int) -> timedelta:
    """Wait after ``failures`` consecutive failures: the interval doubled per failure, at most 24 h."""
    if failures <= 0:
        return timedelta(minutes=every_minutes)
    return min(timedelta(minutes=every_minutes * 2 ** min(failures, 20)), MAX_BACKOFF)


class FeedStore:
    """The feed database. Thread-safe (one connection behind a lock); open one per data folder."""

    def __init__(self, path: Path, *, database_url: str | None = None) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._ingest = threading.Lock()
        self.database_url = database_url
        self.synced_at: datetime | None = None  # when this process last compared the corpus (poll.sync_corpus)
        pg_schema = postgres_ddl(_SCHEMA, _NAMES).replace(
            _PG_ROWID.replace("TEXT", 'TEXT COLLATE "C"'),
            'rowid BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE, path TEXT COLLATE "C" PRIMARY KEY,',
        )
        self._db = StateDb(  # FULL sync: a recorded item must survive a power cut
            path=self.path,
            url=database_url,
            part="feeds",
            version=1,
            schema=_SCHEMA,
            names=_NAMES,
            postgres_schema=pg_schema,
            mapping_rows=True,
            timeout=30,
            full_sync=True,
        )
        self._migrate()

    @classmethod
    def open(cls, data_dir: Path, database_url: str | None = None) -> FeedStore:
        """The store of a data folder (``<data>/feeds.sqlite``), or the database's when one is given."""
        return cls(Path(data_dir) / DB_NAME, database_url=database_url)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> FeedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[StateDb]:
        with self._lock, self._db.transaction() as db:
            yield db
        if self._db.sqlite is not None:
            synced("commit", self.path)  # WAL + synchronous=FULL: the commit is on disk now

    def _migrate(self) -> None:
        """Bring a SQLite store written by an older version up to :data:`SCHEMA_VERSION` (once, at
        open); PostgreSQL tables start at the current layout."""
        if self._db.sqlite is None:
            return
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version >= SCHEMA_VERSION:
            return
        with self._tx() as db:
            columns = {row["name"] for row in db.execute("PRAGMA table_info(feeds)")}
            for column in ("item_errors", "kind", "alert_state"):
                if column not in columns:
                    db.execute(f"ALTER TABLE feeds ADD COLUMN {column} TEXT")
            if version < 1:
                db.execute("DELETE FROM article_bands")
                rows = db.execute("SELECT rowid, signature FROM articles WHERE signature IS NOT NULL").fetchall()
                for row in rows:
                    _add_bands(db, int(row["rowid"]), row["signature"])
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextlib.contextmanager
    def ingest_lock(self, timeout: float = 120.0) -> Iterator[None]:
        """Exclusive right to change the corpus through this store (a file lock next to the database,
        or an advisory lock in it, plus a thread lock), so polls, the CLI and ``/index add url:``
        never write one story twice."""
        deadline = time.monotonic() + timeout
        if not self._ingest.acquire(timeout=timeout):
            raise FeedError("another ingestion is still running")
        try:
            if self.database_url is not None:
                with _advisory(self.database_url, deadline):
                    yield
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path.with_suffix(".lock"), "a+") as fh:
                while True:
                    try:
                        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise FeedError("another process is still ingesting") from None
                        time.sleep(0.05)
                try:
                    yield
                finally:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            self._ingest.release()

    # --- feeds ---------------------------------------------------------------------------

    def add_feed(
        self,
        url: str,
        *,
        name: str,
        every_minutes: int = DEFAULT_EVERY_MINUTES,
        enabled: bool = True,
        now: datetime | None = None,
        kind: str | None = None,
    ) -> FeedState:
        """Add a feed, due at once. FeedError when the name or URL is already there."""
        name = " ".join(name.split())
        if not name:
            raise FeedError("a feed needs a name")
        if every_minutes < MIN_EVERY_MINUTES:
            raise FeedError(f"poll interval must be at least {MIN_EVERY_MINUTES} minutes")
        moment = now or utcnow()
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO feeds (name, url, every_minutes, enabled, next_due, added_at, kind) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (name, url, every_minutes, int(enabled), _iso(moment), _iso(moment), kind or None),
                )
        except RowExistsError as exc:
            existing = self.get_feed(name) or self.get_feed(url)
            raise FeedError(f"a feed {existing.name if existing else name!r} with that name or URL exists") from exc
        state = self.get_feed(name)
        assert state is not None
        return state

    def remove_feed(self, name_or_url: str) -> FeedState:
        """Remove a feed (its items stay recorded, so re-adding it does not re-ingest them)."""
        state = self._require(name_or_url)
        with self._tx() as db:
            db.execute("DELETE FROM feeds WHERE name = ?", (state.name,))
        return state

    def update_feed(
        self,
        name_or_url: str,
        *,
        enabled: bool | None = None,
        every_minutes: int | None = None,
        now: datetime | None = None,
    ) -> FeedState:
        """Enable/disable a feed or change its interval; enabling makes it due at once."""
        state = self._require(name_or_url)
        with self._tx() as db:
            if enabled is not None:
                db.execute(
                    "UPDATE feeds SET enabled = ?, next_due = CASE WHEN ? = 1 THEN ? ELSE next_due END WHERE name = ?",
                    (int(enabled), int(enabled and not state.enabled), _iso(now or utcnow()), state.name),
                )
            if every_minutes is not None:
                if every_minutes < MIN_EVERY_MINUTES:
                    raise FeedError(f"poll interval must be at least {MIN_EVERY_MINUTES} minutes")
                db.execute("UPDATE feeds SET every_minutes = ? WHERE name = ?", (every_minutes, state.name))
        return self._require(state.name)

    def get_feed(self, name_or_url: str) -> FeedState | None:
        """A feed by name (exact, then case-insensitive) or by URL."""
        with self._lock:
            row = (
                self._db.execute("SELECT * FROM feeds WHERE name = ?", (name_or_url,)).fetchone()
                or self._db.execute("SELECT * FROM feeds WHERE url = ?", (name_or_url,)).fetchone()
                or self._db.execute("SELECT * FROM feeds WHERE lower(name) = lower(?)", (name_or_url,)).fetchone()
            )
        return _feed(row) if row else None

    def list_feeds(self) -> list[FeedState]:
        """Every feed, by name."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM feeds ORDER BY lower(name)").fetchall()
        return [_feed(r) for r in rows]

    def due_feeds(self, now: datetime) -> list[FeedState]:
        """Enabled feeds whose next poll time has come, most overdue first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM feeds WHERE enabled = 1 AND next_due <= ? ORDER BY next_due, name", (_iso(now),)
            ).fetchall()
        return [_feed(r) for r in rows]

    def record_success(
        self,
        name: str,
        *,
        now: datetime,
        etag: str | None,
        last_modified: str | None,
        not_modified: bool = False,
        item_errors: Sequence[str] = (),
    ) -> None:
        """A poll worked: store the new validators, clear the error, schedule the next poll.

        ``item_errors`` replace the last poll's, except on a 304 (no item handled); a feed removed
        mid-poll is not updated."""
        state = self.get_feed(name)
        if state is None:
            return
        errors = "; ".join(item_errors)[:MAX_ERROR_CHARS] or None
        # told it was failing: the recovery is owed; never told: nothing to take back
        alert = {DOWN_SENT: UP_PENDING, DOWN_PENDING: None}.get(state.alert_state or "", state.alert_state)
        if alert == UP_PENDING and state.alert_state != UP_PENDING:
            log.info("feeds: %r works again after %d failed polls", name, state.consecutive_failures)
        with self._tx() as db:
            db.execute(
                "UPDATE feeds SET etag = ?, last_modified = ?, last_success = ?, last_error = NULL, "
                "consecutive_failures = 0, next_due = ?, item_errors = ?, alert_state = ? WHERE name = ?",
                (
                    etag if etag or not not_modified else state.etag,
                    last_modified if last_modified or not not_modified else state.last_modified,
                    _iso(now),
                    _iso(now + timedelta(minutes=state.every_minutes)),
                    state.item_errors if not_modified else errors,
                    alert,
                    name,
                ),
            )

    def record_failure(
        self,
        name: str,
        *,
        now: datetime,
        error: str,
        retry_after: float | None = None,
        alert_after: int = DEFAULT_ALERT_AFTER,
    ) -> FeedState | None:
        """A poll failed: keep the last good state, record why, and wait ``retry_after`` seconds
        when the server asked (429/503 ``Retry-After``), else back off exponentially (≤ 24 h).
        The ``alert_after``-th failure in a row owes the moderators one alert."""
        state = self.get_feed(name)
        if state is None:  # removed while being polled
            return None
        failures = state.consecutive_failures + 1
        wait = timedelta(seconds=retry_after) if retry_after is not None else backoff_delay(state.every_minutes, failures)
        alert = state.alert_state
        if failures >= max(alert_after, 1):
            if alert is None:
                alert = DOWN_PENDING
                log.warning("feeds: %r failed %d polls in a row: %s", name, failures, error[:200])
            elif alert == UP_PENDING:
                alert = DOWN_SENT  # down again before the recovery was told: the last word still stands
        with self._tx() as db:
            db.execute(
                "UPDATE feeds SET last_error = ?, last_error_at = ?, consecutive_failures = ?, next_due = ?, "
                "alert_state = ? WHERE name = ?",
                (error[:MAX_ERROR_CHARS], _iso(now), failures, _iso(now + wait), alert, name),
            )
        return self.get_feed(name)

    def pending_alerts(self) -> list[FeedAlert]:
        """Alerts owed to the moderators (oldest failure first); each stays owed until delivered."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM feeds WHERE alert_state IN (?, ?) ORDER BY last_error_at, name", (DOWN_PENDING, UP_PENDING)
            ).fetchall()
        alerts: list[FeedAlert] = []
        for row in rows:
            state = _feed(row)
            kind: AlertKind = "failing" if state.alert_state == DOWN_PENDING else "recovered"
            alerts.append(
                FeedAlert(state.name, state.url, kind, state.consecutive_failures, state.last_error, state.last_error_at)
            )
        return alerts

    def alert_delivered(self, alert: FeedAlert) -> bool:
        """Mark an alert as told (False when the feed moved on meanwhile: then it is not marked)."""
        before, after = (DOWN_PENDING, DOWN_SENT) if alert.kind == "failing" else (UP_PENDING, None)
        with self._tx() as db:
            changed = db.execute(
                "UPDATE feeds SET alert_state = ? WHERE name = ? AND alert_state = ?", (after, alert.feed, before)
            ).rowcount
        return bool(changed)

    def _require(self, name_or_url: str) -> FeedState:
        state = self.get_feed(name_or_url)
        if state is None:
            raise FeedError(f"no feed named {name_or_url!r}")
        return state

    # --- items and articles ---------------------------------------------------------------

    def item_seen(self, feed: str, guid: str) -> bool:
        """Whether this feed's item was handled before (whatever became of it)."""
        with self._lock:
            return (
                self._db.execute("SELECT 1 FROM items WHERE feed = ? AND guid = ?", (feed, guid)).fetchone() is not None
            )

    def path_for_url(self, canonical_url: str) -> str | None:
        """The corpus file (relative path) already holding this canonical URL, if any."""
        with self._lock:
            row = self._db.execute("SELECT path FROM articles WHERE canonical_url = ?", (canonical_url,)).fetchone()
            if row is None:
                row = self._db.execute(
                    "SELECT path FROM items WHERE canonical_url = ? AND path IS NOT NULL", (canonical_url,)
                ).fetchone()
        return str(row["path"]) if row else None

    def record_item(
        self,
        *,
        feed: str | None,
        guid: str | None,
        canonical_url: str,
        path: str | None,
        status: str,
        now: datetime,
        article: tuple[int, int, np.ndarray | None] | None = None,
    ) -> None:
        """Record one handled item in one transaction: item row, article row (``(mtime_ns, size, signature)``
        of the file written or folded into) and the feed's counters; ``status`` is added, folded,
        duplicate or skipped, and ``feed``/``guid`` are None for a page added by URL."""
        with self._tx() as db:
            if feed is not None and guid is not None:
                db.execute(
                    "INSERT OR IGNORE INTO items (feed, guid, canonical_url, path, status, seen_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (feed, guid, canonical_url, path, status, _iso(now)),
                )
                db.execute(
                    "UPDATE feeds SET items_seen = items_seen + 1, articles_added = articles_added + ? WHERE name = ?",
                    (int(status == "added"), feed),
                )
            if path is not None and article is not None:
                mtime_ns, size, sig = article
                if status == "added":
                    _put_article(db, path, canonical_url, mtime_ns, size, sig)
                else:  # a fold rewrote the file: remember its new stat so the next sync need not re-read it
                    db.execute("UPDATE articles SET mtime_ns = ?, size = ? WHERE path = ?", (mtime_ns, size, path))

    def record_article(
        self, path: str, *, canonical_url: str, mtime_ns: int, size: int, sig: np.ndarray | None
    ) -> None:
        """Record (or refresh) a corpus file found on disk, e.g. by :func:`index.feeds._poll.sync_corpus`."""
        self.record_articles([ArticleRecord(path, canonical_url, mtime_ns, size, sig)])

    def record_articles(self, records: Iterable[ArticleRecord]) -> None:
        """Record (or refresh) many corpus files in one transaction (bulk loads, benchmarks)."""
        with self._tx() as db:
            for r in records:
                _put_article(db, r.path, r.canonical_url, r.mtime_ns, r.size, r.signature)

    def forget_articles(self, paths: list[str]) -> None:
        """Drop records of files that left the corpus (removed to the trash, renamed)."""
        with self._tx() as db:
            for path in paths:
                _drop_article(db, path)

    def known_articles(self) -> dict[str, KnownArticle]:
        """Recorded corpus files by relative path."""
        with self._lock:
            rows = self._db.execute("SELECT path, canonical_url, mtime_ns, size FROM articles").fetchall()
        return {r["path"]: KnownArticle(r["path"], r["canonical_url"], r["mtime_ns"], r["size"]) for r in rows}

    def similar_signatures(self, sig: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """``(relative path, MinHash signature)`` of the stored articles sharing an LSH band with ``sig``.

        Index lookups only: the work grows with the number of candidates, not with the corpus.
        """
        keys = band_keys(sig)
        values = ", ".join("(?, ?)" for _ in keys)
        with self._lock:
            rows = self._db.execute(  # a join on the primary key: one index probe per band
                f"WITH q(band, key) AS (VALUES {values}) SELECT path, signature FROM articles "
                "WHERE signature IS NOT NULL AND rowid IN "
                "(SELECT b.article FROM q JOIN article_bands b ON b.band = q.band AND b.key = q.key)",
                [v for pair in keys for v in pair],
            ).fetchall()
        return [(r["path"], from_blob(r["signature"])) for r in rows]


@contextlib.contextmanager
def _advisory(url: str, deadline: float) -> Iterator[None]:
    """Hold the database's ingest lock (waiting until ``deadline``): the processes sharing it may run on other machines."""
    lock = AdvisoryLock(url, "feeds-ingest")
    while not lock.try_acquire():
        if time.monotonic() > deadline:
            raise FeedError("another process is still ingesting")
        time.sleep(0.05)
    try:
        yield
    finally:
        lock.release()


def _add_bands(db: StateDb, article: int, blob: bytes) -> None:
    db.executemany(
        "INSERT OR IGNORE INTO article_bands (band, key, article) VALUES (?, ?, ?)",
        [(band, key, article) for band, key in band_keys(from_blob(blob))],
    )


def _drop_article(db: StateDb, path: str) -> None:
    """Delete an article row and its LSH rows (found from its own signature: no scan)."""
    row = db.execute("SELECT rowid, signature FROM articles WHERE path = ?", (path,)).fetchone()
    if row is None:
        return
    if row["signature"] is not None:
        db.executemany(
            "DELETE FROM article_bands WHERE band = ? AND key = ? AND article = ?",
            [(band, key, int(row["rowid"])) for band, key in band_keys(from_blob(row["signature"]))],
        )
    db.execute("DELETE FROM articles WHERE rowid = ?", (int(row["rowid"]),))


def _put_article(
    db: StateDb, path: str, canonical_url: str, mtime_ns: int, size: int, sig: np.ndarray | None
) -> None:
    """Insert or replace an article row with its LSH rows, in the caller's transaction."""
    _drop_article(db, path)
    blob = to_blob(sig) if sig is not None else None
    row = db.execute(
        "INSERT INTO articles (path, canonical_url, mtime_ns, size, signature) VALUES (?, ?, ?, ?, ?) RETURNING rowid",
        (path, canonical_url, mtime_ns, size, blob),
    ).fetchone()
    if blob is not None:
        _add_bands(db, int(row[0]), blob)


def _feed(row: Any) -> FeedState:
    next_due = _dt(row["next_due"])
    added_at = _dt(row["added_at"])
    assert next_due is not None and added_at is not None
    return FeedState(
        name=row["name"],
        url=row["url"],
        every_minutes=int(row["every_minutes"]),
        enabled=bool(row["enabled"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_success=_dt(row["last_success"]),
        last_error=row["last_error"],
        last_error_at=_dt(row["last_error_at"]),
        consecutive_failures=int(row["consecutive_failures"]),
        next_due=next_due,
        items_seen=int(row["items_seen"]),
        articles_added=int(row["articles_added"]),
        added_at=added_at,
        item_errors=row["item_errors"],
        kind=row["kind"],
        alert_state=row["alert_state"],
    )
