"""/digest: the period's stories, quoted and cited; a weekly digest a server can schedule."""

from __future__ import annotations

from bot.core.protocol import BotCore
from bot.features.digest.cog import DigestCog, DigestScheduleCog
from bot.features.digest.schedule import SCHEDULER, DigestScheduler


async def setup(bot: BotCore) -> None:
    """The schedule runs only while this process leads, so one process posts each week's digest."""
    scheduler = SCHEDULER.put(bot, DigestScheduler(bot))
    bot.hooks.while_leading(scheduler)
    await bot.add_cog(DigestCog(bot))
    await bot.add_cog(DigestScheduleCog(bot, scheduler))
