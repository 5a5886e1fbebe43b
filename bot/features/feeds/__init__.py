"""/feeds: the news feeds the bot follows, the leader's background poll, and the announcements."""

from __future__ import annotations

from bot.core.protocol import BotCore
from bot.features.feeds.announce import Announcer
from bot.features.feeds.cog import FeedsCog
from bot.features.feeds.poller import POLLER, FeedPoller


async def setup(bot: BotCore) -> None:
    """The poll runs only while this process leads; its new articles are announced first."""
    poller = POLLER.put(bot, FeedPoller(bot, interval=bot.settings.feeds_poll_seconds))
    bot.hooks.while_leading(poller)
    bot.hooks.on_new_articles(Announcer(bot).announce)
    await bot.add_cog(FeedsCog(bot, poller))
