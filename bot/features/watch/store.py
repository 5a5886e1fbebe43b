"""Saved questions (``/watch``): a user is sent a DM when a new feed article matches one well.

Stored per user in SQLite (WAL) in the data folder; at most :data:`MAX_PER_USER` each, so one user
cannot make every poll score thousands of questions.

The threshold (:data:`THRESHOLD`) is the score from :meth:`index.engine.Engine.match_new_articles`
(best chunk cosine, all-MiniLM-L6-v2) above which a new article is worth a DM. It was chosen on
held-out data written by others, with ``python -m measure.calibrate.watch``: the 500-query
MultiHop-RAG sample, each answerable query against its evidence articles (positives) and every
other article of the set (negatives), queries split in halves with a fixed seed; the threshold
with the best F0.5 on one half (an unwanted DM costs more than a missed one), reported on the
other half:

Held-out half (215 queries × 326 articles):

    | threshold | precision | recall | F1 | F0.5 | false DMs / 100 unrelated articles |
    |---|---|---|---|---|---|
    | 0.400 | 0.305 | 0.761 | 0.436 | 0.347 | 1.43 |
    | 0.425 | 0.340 | 0.691 | 0.455 | 0.378 | 1.11 |
    | 0.450 | 0.387 | 0.633 | 0.481 | 0.420 | 0.83 |
    | 0.475 | 0.424 | 0.572 | 0.487 | 0.448 | 0.64 |
    | 0.500 | 0.468 | 0.511 | 0.488 | 0.476 | 0.48 |
    | 0.525 (chosen) | 0.501 | 0.423 | 0.459 | 0.483 | 0.35 |
    | 0.550 | 0.530 | 0.340 | 0.415 | 0.477 | 0.25 |
    | 0.575 | 0.564 | 0.261 | 0.357 | 0.458 | 0.17 |
    | 0.600 | 0.589 | 0.186 | 0.283 | 0.411 | 0.11 |
    | 0.625 | 0.673 | 0.133 | 0.223 | 0.372 | 0.05 |
    | 0.650 | 0.718 | 0.089 | 0.159 | 0.299 | 0.03 |

Chosen: 0.525 (best F0.5 on the other half, 214 queries). Half the DMs sent are
for an article the question was really about, and a watch gets a false DM for about one unrelated
article in 300. MultiHop queries are multi-hop questions whose evidence is spread over several
articles, each of which covers only part of the question, so per-article recall is lower than for
a one-topic watch; the figures are a conservative guide, not a promise.

``POLICYBOT_WATCH_THRESHOLD`` overrides it (``bot.config``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bot.core.errors import BotError
from bot.core.sqlite_store import SqliteStore

THRESHOLD = 0.525
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


class WatchStore(SqliteStore):
    """Thread-safe; the ``a*`` methods run the SQLite work in a worker thread."""

    def __init__(self, path: Path, *, max_per_user: int = MAX_PER_USER) -> None:
        super().__init__(path, SCHEMA)
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
                cur = self._db.execute(
                    "INSERT INTO watches (user_id, query, created_at) VALUES (?, ?, ?)", (user_id, text, time.time())
                )
            except sqlite3.IntegrityError:
                raise BotError("You already watch that question.") from None
        return Watch(int(cur.lastrowid or 0), user_id, text)

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
        with self._lock:
            self._db.execute("PRAGMA secure_delete=ON")  # zero the freed bytes, not just unlink them
            count = int(self._db.execute("DELETE FROM watches WHERE user_id = ?", (user_id,)).rowcount)
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
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
