"""Per-guild settings chosen by moderators in Discord: one ``(guild, key) -> value`` table (SQLite, or PostgreSQL when configured).

Shared by the features, so each adds a key instead of a table; the key of a setting that several
features read (the answer style) is kept here. Values are short strings; ``None`` removes a key.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.core.state_store import StateStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS guild_settings (
    guild_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (guild_id, key)
);
"""

ANSWERS = "answers"
"""The answer style, ``written`` or ``quoted``: chosen by /settings, followed by the answers."""
STYLES = ("written", "quoted")


class GuildSettings(StateStore):
    """Thread-safe; the ``a*`` methods run the database work in a worker thread (it may wait on a lock)."""

    def __init__(self, path: Path, *, database_url: str | None = None) -> None:
        super().__init__(
            path, SCHEMA, part="guild_settings", tables={"guild_settings": "pb_guild_settings"}, database_url=database_url
        )

    def get(self, guild_id: int, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM guild_settings WHERE guild_id = ? AND key = ?", (guild_id, key)
            ).fetchone()
        return str(row[0]) if row else None

    def set(self, guild_id: int, key: str, value: str | None) -> None:
        """Store ``value`` for the guild, or remove the key when ``value`` is None."""
        with self._lock:
            if value is None:
                self._db.execute("DELETE FROM guild_settings WHERE guild_id = ? AND key = ?", (guild_id, key))
            else:
                self._db.execute(
                    "INSERT INTO guild_settings VALUES (?, ?, ?, ?) ON CONFLICT(guild_id, key) "
                    "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    (guild_id, key, value, time.time()),
                )

    def all(self, key: str) -> dict[int, str]:
        """Every guild's value for ``key`` (e.g. all announcement channels)."""
        with self._lock:
            rows = self._db.execute("SELECT guild_id, value FROM guild_settings WHERE key = ?", (key,)).fetchall()
        return {int(g): str(v) for g, v in rows}

    async def aget(self, guild_id: int, key: str) -> str | None:
        return await asyncio.to_thread(self.get, guild_id, key)

    async def aset(self, guild_id: int, key: str, value: str | None) -> None:
        await asyncio.to_thread(self.set, guild_id, key, value)

    async def aall(self, key: str) -> dict[int, str]:
        return await asyncio.to_thread(self.all, key)


async def answer_style(store: GuildSettings, guild_id: int | None, default: str) -> str:
    """The guild's chosen style, or ``default`` (``POLICYBOT_ANSWERS``) in DMs and unset guilds."""
    chosen = await store.aget(guild_id, ANSWERS) if guild_id else None
    return chosen if chosen in STYLES else default
