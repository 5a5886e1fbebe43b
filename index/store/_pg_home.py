"""The index kept in PostgreSQL (``POLICYBOT_DATABASE_URL``): ``pb_live`` instead of ``CURRENT``,
versions fetched into the local data folder as a verified cache, publishing in one transaction."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from index.database import database_error
from index.errors import BuildError, BuildLockedError, DatabaseError
from index.store import _versions as versions
from index.store._pg_corpus import sync_corpus
from index.store._pg_fetch import fetch_version
from index.store._pg_publish import live_version, prune_versions, publish_version, version_names
from index.store._pg_schema import open_connection

T = TypeVar("T")
RETRY_AFTER = 5.0
"""Seconds after a failed pointer check before the next one tries the database again."""
log = logging.getLogger(__name__)


class PgHome:
    """Thread-safe. Polls share one connection (reopened once if it was lost); downloads, publishing
    and pruning each use a connection of their own, so a long download never stalls a poll."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.data_dir = data_dir
        self._conn: Any = None
        self._lock = threading.Lock()
        self._stamp_lock = threading.Lock()
        self._last: tuple[str | None] | None = None  # the last pointer read, for questions that overlap a poll
        self._failed_at: float | None = None

    def stamp(self) -> Hashable | None:
        """Never makes a question wait on an unreachable database: while one thread polls, the others
        get the last pointer read; after a failed poll, the next ones fail at once for ``RETRY_AFTER``."""
        if not self._stamp_lock.acquire(blocking=self._last is None):
            return self._last[0] if self._last is not None else None
        try:
            if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_AFTER:
                raise DatabaseError("PostgreSQL could not be reached a moment ago; trying again shortly")
            try:
                value = self.live()
            except DatabaseError:
                self._failed_at = time.monotonic()
                raise
            self._failed_at, self._last = None, (value,)
            return value
        finally:
            self._stamp_lock.release()

    def live(self) -> str | None:
        return self._poll(live_version)

    def local(self, name: str) -> Path:
        """Also trims this folder's cache to the versions the database keeps when it fetched one
        (skipped while a build runs here: the build prunes)."""
        with self._session() as conn:
            cached = (versions.versions_dir(self.data_dir) / name).is_dir()
            path = fetch_version(conn, self.data_dir, name)
            if not cached:
                kept = {*version_names(conn), name}
                with contextlib.suppress(BuildLockedError, OSError), versions.build_lock(self.data_dir):
                    versions.prune_to(self.data_dir, kept, temporary=False)  # others may be fetching
            return path

    def next_version_name(self) -> str:
        with self._session() as conn:
            return versions.next_version_name(self.data_dir, version_names(conn))

    def publish(self, tmp_dir: Path, name: str) -> Path:
        """The version folder is moved into the local cache first; it counts once the transaction commits."""
        final = versions.versions_dir(self.data_dir) / name
        versions.replace_durably(tmp_dir, final)
        try:
            with self._session() as conn:
                publish_version(conn, self.data_dir, final)
        except DatabaseError as exc:
            raise BuildError(f"index version {name} was not published: {exc}") from None
        return final

    def prune(self, keep: int) -> None:
        """Best effort, as on files: a failure is logged and the next build prunes again."""
        try:
            with self._session() as conn:
                kept = prune_versions(conn, keep)
        except DatabaseError as exc:
            log.warning("old index versions not pruned (the next build tries again): %s", exc)
            return
        versions.prune_to(self.data_dir, kept)

    def sync_corpus(self, corpus_dir: Path, trash_dir: Path, paths: Sequence[Path] | None) -> list[Path]:
        with self._session() as conn:
            return sync_corpus(conn, corpus_dir, self.data_dir, trash_dir, paths)

    def close(self) -> None:
        with self._lock:
            self._drop()

    # ---- connections ---------------------------------------------------------------------------
    def _poll(self, work: Callable[[Any], T]) -> T:
        import psycopg

        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = open_connection(self.url)
                    return work(self._conn)
                except psycopg.OperationalError as exc:
                    self._drop()
                    if attempt == 2:
                        raise database_error(exc) from None
                except psycopg.Error as exc:
                    raise database_error(exc) from None
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    @contextlib.contextmanager
    def _session(self) -> Iterator[Any]:
        """A connection of its own; database errors come out as :class:`DatabaseError` without secrets."""
        import psycopg

        conn = open_connection(self.url)
        try:
            yield conn
        except psycopg.Error as exc:
            raise database_error(exc) from None
        finally:
            with contextlib.suppress(Exception):
                conn.close()
