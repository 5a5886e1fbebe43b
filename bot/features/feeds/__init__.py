"""/feeds: the news feeds the bot follows, the leader's background poll, and the announcements."""

from __future__ import annotations

import asyncio

from bot.core.protocol import BotCore
from bot.features.feeds.alerts import FeedAlerter
from bot.features.feeds.announce import Announcer
from bot.features.feeds.cog import FeedsCog
from bot.features.feeds.poller import POLLER, FeedPoller
from bot.features.feeds.routes import ROUTES, AnnounceRoutes


async def setup(bot: BotCore) -> None:
    """The poll runs only while this process leads; its new articles are announced first, and
    feed alerts owed go out after each poll. An earlier single announcement channel is adopted."""
    routes = ROUTES.put(bot, AnnounceRoutes(bot.settings.announce_db, database_url=bot.settings.database))
    bot.hooks.at_exit(routes.close)
    await asyncio.to_thread(routes.adopt_legacy, bot.guild_settings)
    alerter = FeedAlerter(bot, routes)
    poller = POLLER.put(bot, FeedPoller(bot, interval=bot.settings.feeds_poll_seconds, after_poll=alerter.deliver))
    bot.hooks.while_leading(poller)
    bot.hooks.on_new_articles(Announcer(bot, routes).announce)
    await bot.add_cog(FeedsCog(bot, poller, routes))
