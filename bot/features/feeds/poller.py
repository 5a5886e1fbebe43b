"""The leader's background feed poll: due feeds, then an incremental build, then the new articles
handed to the hooks (announcements, watch DMs) only once they are in the live index, so ``/ask``
can answer about them. One poll at a time, in a worker thread; a failure is logged and the loop goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.core.background import WakeableLoop
from bot.core.protocol import BotCore, Slot
from index import FeedPoll, FreshArticle

log = logging.getLogger(__name__)

MAX_PENDING = 500
"""Articles kept for the next poll while a build could not run (the oldest are dropped first)."""


class FeedPoller(WakeableLoop):
    task_name = "feeds-poller"
    failure = "feed poll failed; trying again at the next poll"

    def __init__(
        self, bot: BotCore, *, interval: float, after_poll: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        super().__init__()
        self.bot = bot
        self.interval = interval
        self.after_poll = after_poll  # the feed alerts: owed ones go out after each poll
        self.last: FeedPoll | None = None
        self._lock = asyncio.Lock()
        self._pending: list[FreshArticle] = []

    # ---- the loop: the first poll runs at once (feeds due during downtime are caught up) ------
    async def run_once(self) -> FeedPoll | None:
        return await self.poll_once()

    async def next_wait(self) -> float:
        return self.interval

    # ---- one poll -----------------------------------------------------------------------------
    async def poll_once(self) -> FeedPoll | None:
        """Poll the due feeds now and deliver what is new (waits for a poll already running).

        Skipped while a reindex runs; articles a poll could not index wait for the next poll,
        which builds even without new items."""
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
            if self.after_poll is not None:
                try:
                    await self.after_poll()
                except Exception:
                    log.exception("feeds: posting the feed alerts failed")
            if not result.indexed:
                self._pending = (self._pending + result.articles)[-MAX_PENDING:]
                return result
            ready, self._pending = self._pending + result.articles, []
            if ready:
                log.info("feeds: %d new article(s) indexed", len(ready))
                await self.bot.hooks.new_articles(ready)
            return result


POLLER = Slot("poller", FeedPoller)
"""``bot.poller``, for tools that wait on the poll (the load benchmark)."""
