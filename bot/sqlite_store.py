"""What the bot's small SQLite stores (feedback, watches, guild settings) share.

WAL mode, so a crash never loses a committed row and readers never block the writer; autocommit,
so every statement is its own transaction unless a store opens one; one connection per store,
guarded by a lock, so worker threads can share it.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class SqliteStore:
    """Opens ``path`` (creating its folder) and runs ``schema``; subclasses add the queries."""

    def __init__(self, path: Path, schema: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(schema)

    def close(self) -> None:
        with self._lock:
            self._db.close()
