"""/index: moderators change what the bot knows (articles in, articles out, rebuilds)."""

from __future__ import annotations

from bot.core.protocol import BotCore
from bot.features.index.cog import AdminCog


async def setup(bot: BotCore) -> None:
    await bot.add_cog(AdminCog(bot))
