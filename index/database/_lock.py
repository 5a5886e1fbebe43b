"""A session-level advisory lock on a connection of its own: PostgreSQL releases it when the session
ends however the holder dies (killed, its host gone, the connection cut), so a standby retrying it
takes over without stale-lock clean-up; the holder checks its connection to learn it lost it."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from index.database._connect import connect
from index.database._schema import lock_key
from index.errors import DatabaseError

log = logging.getLogger(__name__)

KEEPALIVE: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
"""Client side: the holder notices a vanished server after idle + interval × count seconds."""
SERVER_KEEPALIVE = ("SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5", "SET tcp_keepalives_count = 3")
"""Server side, for this session: a holder whose host vanished (no FIN) frees the lock after the same
bound instead of the kernel's default of hours; ignored on Unix sockets."""


class AdvisoryLock:
    """A non-blocking try-lock named ``name``; thread-safe. :meth:`try_acquire` may be called again."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.key = lock_key(name)
        self._conn: Any = None
        self._guard = threading.Lock()

    @property
    def connection(self) -> Any:
        """The holder's connection (None when not held): statements tied to the lock's session."""
        return self._conn

    def try_acquire(self) -> bool:
        """Take the lock if no other session holds it; True when this process holds it (now)."""
        with self._guard:
            if self._conn is not None and self._alive():
                return True
            self._drop()
            try:
                conn = connect(self.url, **KEEPALIVE)
            except DatabaseError as exc:
                log.warning("lock %s: %s", self.name, exc)
                return False
            try:
                for statement in SERVER_KEEPALIVE:
                    conn.execute(statement)
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
                got = bool(row and row[0])
            except Exception as exc:
                conn.close()
                log.warning("lock %s: %s", self.name, type(exc).__name__)
                return False
            if not got:
                conn.close()
                return False
            self._conn = conn
            return True

    @property
    def held(self) -> bool:
        """Whether this process still holds the lock: its session must still be alive (one query)."""
        with self._guard:
            if self._conn is None:
                return False
            if self._alive():
                return True
            log.warning("lock %s: the connection holding it is gone; no longer holding it", self.name)
            self._drop()
            return False

    def _alive(self) -> bool:
        try:
            self._conn.execute("SELECT 1").fetchone()
        except Exception:
            return False
        return not self._conn.broken

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()  # the session ends: PostgreSQL releases the lock
            self._conn = None

    def release(self) -> None:
        with self._guard:
            if self._conn is not None and not self._conn.broken:
                with contextlib.suppress(Exception):
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            self._drop()
