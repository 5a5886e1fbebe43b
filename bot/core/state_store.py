"""What the bot's small stores share: one :class:`index.StateDb`, a SQLite file in the data folder
(WAL: a crash never loses a committed row) or PostgreSQL tables other machines share; one
connection per store behind a lock, so worker threads can share it."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from index import StateDb


class StateStore:
    """Opens ``path`` (creating its folder), or the tables of ``part`` at ``database_url``, and
    creates the tables of ``schema``; subclasses add the queries (SQLite syntax, run on both)."""

    def __init__(
        self, path: Path, schema: str, *, part: str, tables: Mapping[str, str], database_url: str | None = None
    ) -> None:
        """``part`` names the tables' schema version in PostgreSQL; ``tables`` maps each SQLite table
        (and index) name to its PostgreSQL name (``pb_``…)."""
        self.path = path
        self._lock = threading.Lock()
        self._db = StateDb(path=path, url=database_url, part=part, version=1, schema=schema, names=tables)

    def close(self) -> None:
        with self._lock:
            self._db.close()
