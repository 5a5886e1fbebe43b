"""Saved questions (``/watch``) in SQLite (or PostgreSQL when configured), at most
:data:`MAX_PER_USER` per user, so one user cannot make every poll score thousands of questions.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from bot.core.errors import BotError
from bot.core.protocol import Slot
from bot.core.state_store import StateStore
from index import RowExistsError

MAX_PER_USER = 20
MAX_QUERY = 300

SCHEMA = """
CREATE TABLE IF NOT EXISTS watches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    query TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (user_id, query)
);
CREATE INDEX IF NOT EXISTS watches_user ON watches (user_id);
"""


@dataclass(frozen=True)
class Watch:
    id: int
    user_id: int
    query: str


class WatchStore(StateStore):
    """Thread-safe; the ``a*`` methods run the database work in a worker thread."""

    def __init__(self, path: Path, *, max_per_user: int = MAX_PER_USER, database_url: str | None = None) -> None:
        super().__init__(
            path,
            SCHEMA,
            part="watches",
            tables={"watches": "pb_watches", "watches_user": "pb_watches_user"},
            database_url=database_url,
        )
        self.max_per_user = max_per_user

    def add(self, user_id: int, query: str) -> Watch:
        """Save a question for the user; BotError when it is a repeat or the user has too many."""
        text = " ".join(query.split())
        if len(text) < 3:
            raise BotError("A watch needs a question of at least 3 characters.")
        if len(text) > MAX_QUERY:
            raise BotError(f"Please keep watches under {MAX_QUERY} characters.")
        with self._lock:
            count = self._db.execute("SELECT count(*) FROM watches WHERE user_id = ?", (user_id,)).fetchone()[0]
            if count >= self.max_per_user:
                raise BotError(f"You already have {count} watches (the most allowed); remove one first.")
            try:
                row = self._db.execute(
                    "INSERT INTO watches (user_id, query, created_at) VALUES (?, ?, ?) RETURNING id",
                    (user_id, text, time.time()),
                ).fetchone()
            except RowExistsError:
                raise BotError("You already watch that question.") from None
        return Watch(int(row[0]), user_id, text)

    def of_user(self, user_id: int) -> list[Watch]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, user_id, query FROM watches WHERE user_id = ? ORDER BY id", (user_id,)
            ).fetchall()
        return [Watch(int(r[0]), int(r[1]), str(r[2])) for r in rows]

    def remove(self, user_id: int, watch_id: int) -> Watch:
        """Remove one of the user's own watches (BotError when the id is not theirs)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, user_id, query FROM watches WHERE id = ? AND user_id = ?", (watch_id, user_id)
            ).fetchone()
            if row is None:
                raise BotError(f"You have no watch #{watch_id} (see /watch list).")
            self._db.execute("DELETE FROM watches WHERE id = ?", (watch_id,))
        return Watch(int(row[0]), int(row[1]), str(row[2]))

    def forget_user(self, user_id: int) -> int:
        """Delete every watch of one user (``policybot forget``); returns how many."""
        with self._lock, self._db.erasing():  # zero the freed bytes, not just unlink them
            count = int(self._db.execute("DELETE FROM watches WHERE user_id = ?", (user_id,)).rowcount)
        return count

    def every(self) -> list[Watch]:
        with self._lock:
            rows = self._db.execute("SELECT id, user_id, query FROM watches ORDER BY user_id, id").fetchall()
        return [Watch(int(r[0]), int(r[1]), str(r[2])) for r in rows]

    async def aadd(self, user_id: int, query: str) -> Watch:
        return await asyncio.to_thread(self.add, user_id, query)

    async def alist(self, user_id: int) -> list[Watch]:
        return await asyncio.to_thread(self.of_user, user_id)

    async def aremove(self, user_id: int, watch_id: int) -> Watch:
        return await asyncio.to_thread(self.remove, user_id, watch_id)

    async def aall(self) -> list[Watch]:
        return await asyncio.to_thread(self.every)


WATCHES = Slot("watches", WatchStore)
"""``bot.watches`` once the feature is set up."""
