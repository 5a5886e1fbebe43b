"""What the bot's small SQLite stores share: WAL, so a crash never loses a committed row and readers
never block the writer; autocommit, so each statement is a transaction unless a store opens one;
one connection per store behind a lock, so worker threads can share it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path


class SqliteStore:
    """Opens ``path`` (creating its folder) and runs ``schema``; subclasses add the queries."""

    def __init__(self, path: Path, schema: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5.0)
        _switch_to_wal(self._db)
        self._db.executescript(schema)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _switch_to_wal(db: sqlite3.Connection, seconds: float = 10.0) -> None:
    """``journal_mode=WAL`` needs the file to itself for a moment. Where waiting could deadlock,
    SQLite answers "database is locked" at once instead of waiting, so replicas starting together
    retry it (until ``seconds`` have passed) instead of failing."""
    deadline = time.monotonic() + seconds
    pause = 0.02
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 1.5, 0.5)
