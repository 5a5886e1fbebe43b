"""Where each server wants new articles (``/feeds announce``): channels, each with an optional topic
and opt-in role, in ``<data>/announce.sqlite`` (or PostgreSQL when configured). The one channel of earlier versions (guild setting
``announce_channel``) becomes a route without topic when the bot first opens the store."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from bot.core.errors import BotError
from bot.core.guild_settings import GuildSettings
from bot.core.protocol import Slot
from bot.core.state_store import StateStore

log = logging.getLogger(__name__)

LEGACY_CHANNEL = "announce_channel"
"""The guild setting of the one announcement channel earlier versions had (migrated, then removed)."""
MAX_ROUTES = 10
"""Channels per server: each topic costs one scoring pass per poll."""
MAX_TOPIC = 100

SCHEMA = """
CREATE TABLE IF NOT EXISTS announce_routes (
    guild_id INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    topic TEXT,
    role_id INTEGER,
    created_at REAL NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
);
"""


@dataclass(frozen=True)
class Route:
    """New articles (about ``topic``, when set) go to ``channel_id``, mentioning ``role_id`` when set."""

    guild_id: int
    channel_id: int
    topic: str | None = None
    role_id: int | None = None


class AnnounceRoutes(StateStore):
    """Thread-safe; the ``a*`` methods run the database work in a worker thread."""

    def __init__(self, path: Path, *, database_url: str | None = None) -> None:
        super().__init__(
            path, SCHEMA, part="announce_routes", tables={"announce_routes": "pb_announce_routes"}, database_url=database_url
        )

    def put(self, route: Route) -> Route:
        """Add the channel, or change its topic and role; BotError past :data:`MAX_ROUTES` per server."""
        topic = " ".join((route.topic or "").split()) or None
        if topic is not None and not 3 <= len(topic) <= MAX_TOPIC:
            raise BotError(f"A topic needs 3 to {MAX_TOPIC} characters.")
        clean = Route(route.guild_id, route.channel_id, topic, route.role_id)
        with self._lock:
            known = {r[0] for r in self._db.execute("SELECT channel_id FROM announce_routes WHERE guild_id = ?", (clean.guild_id,))}
            if clean.channel_id not in known and len(known) >= MAX_ROUTES:
                raise BotError(f"This server already announces in {len(known)} channels (the most); turn one off first.")
            self._db.execute(
                "INSERT INTO announce_routes VALUES (?, ?, ?, ?, ?) ON CONFLICT(guild_id, channel_id) "
                "DO UPDATE SET topic = excluded.topic, role_id = excluded.role_id",
                (clean.guild_id, clean.channel_id, clean.topic, clean.role_id, time.time()),
            )
        return clean

    def remove(self, guild_id: int, channel_id: int | None = None) -> int:
        """Stop announcing in one channel of the server, or (``None``) in all of them; how many stopped."""
        with self._lock:
            if channel_id is None:
                cur = self._db.execute("DELETE FROM announce_routes WHERE guild_id = ?", (guild_id,))
            else:
                cur = self._db.execute(
                    "DELETE FROM announce_routes WHERE guild_id = ? AND channel_id = ?", (guild_id, channel_id)
                )
        return int(cur.rowcount)

    def of_guild(self, guild_id: int) -> list[Route]:
        return [r for r in self.every() if r.guild_id == guild_id]

    def every(self) -> list[Route]:
        """Every route, by server, then in the order they were set."""
        with self._lock:
            rows = self._db.execute(
                "SELECT guild_id, channel_id, topic, role_id FROM announce_routes ORDER BY guild_id, created_at, channel_id"
            ).fetchall()
        return [Route(int(g), int(c), t, int(r) if r is not None else None) for g, c, t, r in rows]

    def adopt_legacy(self, settings: GuildSettings) -> int:
        """Turn each server's earlier single announcement channel into a route without topic."""
        moved = 0
        for guild_id, channel in settings.all(LEGACY_CHANNEL).items():
            if channel.isdigit():
                with self._lock:
                    self._db.execute(
                        "INSERT OR IGNORE INTO announce_routes VALUES (?, ?, NULL, NULL, ?)",
                        (guild_id, int(channel), time.time()),
                    )
                moved += 1
            settings.set(guild_id, LEGACY_CHANNEL, None)
        if moved:
            log.info("announcements: %d server(s) moved from the single announcement channel setting", moved)
        return moved

    async def aput(self, route: Route) -> Route:
        return await asyncio.to_thread(self.put, route)

    async def aremove(self, guild_id: int, channel_id: int | None = None) -> int:
        return await asyncio.to_thread(self.remove, guild_id, channel_id)

    async def aof_guild(self, guild_id: int) -> list[Route]:
        return await asyncio.to_thread(self.of_guild, guild_id)

    async def aevery(self) -> list[Route]:
        return await asyncio.to_thread(self.every)


ROUTES = Slot("announce_routes", AnnounceRoutes)
"""``bot.announce_routes`` once the feature is set up."""
