"""The bot's background feed poll: due feeds → incremental build → announcements and watch DMs.

One poll at a time (an asyncio lock), in a worker thread (``engine.feeds.poll`` fetches and embeds),
so questions keep being answered from the live index meanwhile. A poll is skipped while a
``/index reindex`` runs, and articles a poll could not index (another build held the lock) wait
for the next poll, which builds even without new items. Announcements and DMs go out only once
the articles are in the live index, so ``/ask`` can answer about what was announced. Nothing in
here may crash the bot: every failure is logged and the loop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from functools import partial
from typing import TYPE_CHECKING

import discord

from bot.core.errors import NO_PINGS
from bot.core.ratelimit import Withheld
from bot.features.feeds.announce import announcement_embed, watch_embed
from bot.features.settings.store import ANNOUNCE_CHANNEL
from bot.features.watch.store import THRESHOLD
from index import FeedPoll, FreshArticle

if TYPE_CHECKING:
    from bot.app import PolicyBotMixin

log = logging.getLogger(__name__)

MAX_PENDING = 500


class FeedPoller:
    def __init__(self, bot: PolicyBotMixin, *, interval: float) -> None:
        self.bot = bot
        self.interval = interval
        self.last: FeedPoll | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: list[FreshArticle] = []

    @property
    def threshold(self) -> float:
        configured = self.bot.settings.watch_threshold
        return THRESHOLD if configured is None else configured

    # ---- the loop ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the loop; its first poll runs at once (feeds due during downtime are caught up)."""
        if self._task is None:
            self._wake.set()
            self._task = asyncio.create_task(self._loop(), name="feeds-poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def trigger(self) -> None:
        """Poll soon, without waiting for the interval (e.g. right after ``/feeds add``)."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("feed poll failed; trying again in %.0f s", self.interval)

    # ---- one poll -----------------------------------------------------------------------------
    async def poll_once(self) -> FeedPoll | None:
        """Poll the due feeds now and deliver what is new (waits for a poll already running)."""
        async with self._lock:
            if self.bot.reindexer.running:
                log.info("feed poll skipped: a reindex is running")
                return None
            try:
                result = await asyncio.to_thread(self.bot.engine.feeds.poll, build=bool(self._pending))
            except Exception:
                log.exception("feed poll failed")
                return None
            self.last = result
            self.bot.metrics.polled(len(result.errors), len(result.articles))
            for error in result.errors:
                log.warning("feeds: %s", error)
            if not result.indexed:
                self._pending = (self._pending + result.articles)[-MAX_PENDING:]
                return result
            ready, self._pending = self._pending + result.articles, []
            if ready:
                log.info("feeds: %d new article(s) indexed", len(ready))
                await self.announce(ready)
                await self.notify_watchers(ready)
            return result

    async def announce(self, articles: list[FreshArticle]) -> None:
        """One message per guild that chose an announcement channel."""
        channels = await self.bot.guild_settings.aall(ANNOUNCE_CHANNEL)
        embed = announcement_embed(articles)
        for guild_id, channel_id in channels.items():
            if self.bot.get_guild(guild_id) is None:
                continue  # the bot left that guild (or it is on another shard's process)
            try:
                channel = self.bot.get_channel(int(channel_id)) or await self.bot.fetch_channel(int(channel_id))
                if not isinstance(channel, discord.abc.Messageable):
                    raise TypeError(f"channel {channel_id} cannot receive messages")
                await self.bot.send_guard.send(channel.id, partial(channel.send, embed=embed, allowed_mentions=NO_PINGS))
            except Withheld:
                continue  # Discord refused the bot there lately (logged once by the guard)
            except (discord.HTTPException, TypeError, ValueError) as exc:
                log.warning("could not announce in guild %s channel %s: %s", guild_id, channel_id, exc)

    async def notify_watchers(self, articles: list[FreshArticle]) -> None:
        """One DM per user whose saved questions match new articles above the threshold."""
        watches = await self.bot.watches.aall()
        if not watches:
            return
        by_id = {a.article_id: a for a in articles}
        ids = list(by_id)
        per_user: dict[int, list[tuple[str, list[FreshArticle]]]] = defaultdict(list)
        for watch in watches:
            try:
                scored = await asyncio.to_thread(self.bot.engine.match_new_articles, watch.query, ids)
            except Exception:
                log.warning("could not score watch %s", watch.id, exc_info=True)
                continue
            hits = [by_id[a] for a, score in scored if score >= self.threshold]
            if hits:
                per_user[watch.user_id].append((watch.query, hits))
        for user_id, matches in per_user.items():
            try:
                dm = await self.bot.create_dm(discord.Object(id=user_id))
                await self.bot.send_guard.send(dm.id, partial(dm.send, embed=watch_embed(matches), allowed_mentions=NO_PINGS))
            except Withheld:
                continue  # the user's DMs refused the bot lately (logged once by the guard)
            except discord.HTTPException as exc:  # user gone
                log.info("could not DM watch matches to %s: %s", user_id, exc)
