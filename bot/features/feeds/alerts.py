"""Feed health in the announcement channel: one message when a feed fails N polls in a row, one when
it works again. The engine owes each once (in feeds.sqlite, so restarts neither lose nor repeat it);
the leader posts to the home servers (or all, when none is known), then marks it told."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial

import discord

from bot.core.errors import NO_PINGS
from bot.core.permissions import home_guild_ids
from bot.core.protocol import BotCore
from bot.core.ratelimit import Withheld
from bot.core.render import link_text, trim
from bot.features.feeds.routes import AnnounceRoutes, Route
from index import FeedAlert

log = logging.getLogger(__name__)


def alert_text(alert: FeedAlert) -> str:
    """The message: the feed's name and, for a failure, the last error (both made inert)."""
    name = link_text(trim(alert.feed, 100))
    if alert.kind == "recovered":
        return f"✅ The feed **{name}** works again; its new articles are being indexed."
    error = link_text(trim(alert.error or "unknown error", 200))
    return (
        f"⚠️ The feed **{name}** failed {alert.failures} polls in a row (last error: {error}). "
        "Its new articles are missing until it works again; see `/feeds list`."
    )


def alert_channels(routes: Sequence[Route], home: frozenset[int] | None, present: set[int]) -> list[int]:
    """One channel per server: its first channel without a topic, else its first channel."""
    chosen: dict[int, Route] = {}
    for route in routes:
        if route.guild_id not in present or (home is not None and route.guild_id not in home):
            continue
        best = chosen.get(route.guild_id)
        if best is None or (best.topic is not None and route.topic is None):
            chosen[route.guild_id] = route
    return [r.channel_id for r in chosen.values()]


class FeedAlerter:
    def __init__(self, bot: BotCore, routes: AnnounceRoutes) -> None:
        self.bot = bot
        self.routes = routes

    async def deliver(self) -> int:
        """Post every alert owed; one is marked told once at least one server got it (else it
        waits for the next poll, e.g. until a server chooses an announcement channel)."""
        feeds = self.bot.engine.feeds
        states = await asyncio.to_thread(feeds.all)
        self.bot.metrics.feeds_failing.set(sum(f.failing for f in states))
        alerts = await asyncio.to_thread(feeds.pending_alerts)
        if not alerts:
            return 0
        settings = self.bot.settings
        home = home_guild_ids(settings.home_guilds, [g.id for g in self.bot.guilds], sees_all=settings.shard_ids is None)
        present = {g.id for g in self.bot.guilds}
        channels = alert_channels(await self.routes.aevery(), home, present)
        told = 0
        for alert in alerts:
            text = alert_text(alert)
            if not any([await self._post(channel_id, text) for channel_id in channels]):
                log.warning("feeds: alert for %r not posted yet (no announcement channel reached)", alert.feed)
                continue
            if await asyncio.to_thread(feeds.alert_delivered, alert):
                self.bot.metrics.feed_alerts.labels(alert.kind).inc()
                told += 1
        return told

    async def _post(self, channel_id: int, text: str) -> bool:
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                raise TypeError(f"channel {channel_id} cannot receive messages")
            await self.bot.send_guard.send(channel_id, partial(channel.send, content=text, allowed_mentions=NO_PINGS))
        except Withheld:
            return False
        except (discord.HTTPException, TypeError, ValueError) as exc:
            log.warning("could not post a feed alert in channel %s: %s", channel_id, exc)
            return False
        return True
