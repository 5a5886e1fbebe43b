"""/settings: per-guild choices for moderators."""

from __future__ import annotations

from bot.core.protocol import BotCore
from bot.features.settings.cog import SettingsCog


async def setup(bot: BotCore) -> None:
    await bot.add_cog(SettingsCog(bot))
