"""Which process ingests and builds: the holder of ``<data>/leader.lock`` (an exclusive ``flock``) or,
with a database, of an advisory lock. The kernel or PostgreSQL drops either however the holder dies,
so a standby retrying the lock takes over with no stale-lock clean-up."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import IO, Protocol

from bot.config import BotSettings
from index import AdvisoryLock, StateDb

log = logging.getLogger(__name__)


class Leadership(Protocol):
    """What the bot and the builder need of a leader lock, whichever backs it."""

    @property
    def held(self) -> bool: ...

    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...

    def holder(self) -> dict[str, object] | None: ...


def leader_lock(settings: BotSettings) -> Leadership:
    """The one place the lock is chosen: the database's when one is configured, else the data folder's."""
    url = settings.database
    if url is not None:
        return DatabaseLeaderLock(url, settings.instance)
    return LeaderLock(settings.leader_lock, settings.instance)


class LeaderLock:
    """A non-blocking try-lock; :meth:`try_acquire` may be called again until it succeeds."""

    def __init__(self, path: Path, instance: str = "") -> None:
        self.path = path
        self.instance = instance
        self._fh: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._fh is not None

    def try_acquire(self) -> bool:
        """Take the lock if no other process holds it; True when this process is (now) the leader."""
        if self._fh is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held open for as long as we lead
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "instance": self.instance, "since": time.time()}) + "\n")
        fh.flush()
        self._fh = fh
        log.info("leader: this process (%s, pid %d) now ingests and builds", self.instance, os.getpid())
        return True

    def release(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def holder(self) -> dict[str, object] | None:
        """Who last took the lock (informational: the content outlives a dead leader)."""
        try:
            data = json.loads(self.path.read_text() or "null")
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None


LEADER_SCHEMA = """
CREATE TABLE IF NOT EXISTS leader (
    name TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    since REAL NOT NULL
);
"""
_HELD = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::bigint = ? AND objsubid = 1"


class DatabaseLeaderLock:
    """The leader is the session holding the ``leader`` advisory lock; PostgreSQL frees it when that
    session ends (process killed, host or connection lost), and :attr:`held` notices a lost session,
    so the old leader stops while a standby's next :meth:`try_acquire` takes over."""

    NAME = "leader"

    def __init__(self, url: str, instance: str = "") -> None:
        self.instance = instance
        self._lock = AdvisoryLock(url, self.NAME)
        self._rows = StateDb(
            path=None, url=url, part="leader", version=1, schema=LEADER_SCHEMA, names={"leader": "pb_leader"}
        )

    @property
    def held(self) -> bool:
        return self._lock.held

    def try_acquire(self) -> bool:
        if self._lock.held:
            return True
        if not self._lock.try_acquire():
            return False
        try:
            self._rows.execute(
                "INSERT INTO leader VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET instance = excluded.instance, "
                "host = excluded.host, pid = excluded.pid, since = excluded.since",
                (self.NAME, self.instance, socket.gethostname(), os.getpid(), time.time()),
            )
        except Exception as exc:  # who leads is informational; leading does not depend on it
            log.warning("leader: could not record this process as the leader: %s", exc)
        log.info("leader: this process (%s, pid %d) now ingests and builds", self.instance, os.getpid())
        return True

    def release(self) -> None:
        """Unlock and close both connections (a later :meth:`try_acquire` opens them again)."""
        self._lock.release()
        self._rows.close()

    def holder(self) -> dict[str, object] | None:
        """Who last took the lock, and whether a session holds it now (``held``)."""
        row = self._rows.execute("SELECT instance, host, pid, since FROM leader WHERE name = ?", (self.NAME,)).fetchone()
        if row is None:
            return None
        held = self._rows.execute(_HELD, (self._lock.key,)).fetchone()
        return {"instance": row[0], "host": row[1], "pid": row[2], "since": row[3], "held": bool(held and held[0])}
