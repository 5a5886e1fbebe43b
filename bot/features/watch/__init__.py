"""/watch: saved questions, and the DMs sent when a new article matches one."""

from __future__ import annotations

from bot.core.protocol import BotCore
from bot.features.watch.cog import WatchCog
from bot.features.watch.notify import WatchNotifier
from bot.features.watch.store import WATCHES, WatchStore


async def setup(bot: BotCore) -> None:
    """Open the saved questions; after each poll (and its announcements) their matches are sent."""
    store = WatchStore(bot.settings.watches_db, max_per_user=bot.settings.watches_per_user, database_url=bot.settings.database)
    watches = WATCHES.put(bot, store)
    bot.hooks.at_exit(watches.close)
    bot.hooks.on_new_articles(WatchNotifier(bot, watches).notify)
    await bot.add_cog(WatchCog(watches))
