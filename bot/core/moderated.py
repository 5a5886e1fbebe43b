"""The base of every moderators-only cog: one check, on the server, on every call, because
``default_permissions`` only hides commands. A command needs a home server's moderator unless marked
``extras=PER_GUILD``, so one added without thinking about it fails closed; refusals are audited.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import discord
from discord.ext import commands

from bot.core.errors import NotModerator
from bot.core.permissions import (
    Access,
    home_guild_ids,
    interaction_is_moderator,
    only_moderators,
    owner_ids,
    shared_access,
)
from bot.core.protocol import BotCore

log = logging.getLogger(__name__)

SCOPE = "policybot.scope"
PER_GUILD: dict[Any, Any] = {SCOPE: "guild"}
"""``extras`` of a command that only reads, or only changes this server's own settings."""


class ModeratorCog(commands.Cog):
    """Subclasses set ``changes`` ("the index", "the feeds", …) for the refusal message."""

    changes: ClassVar[str] = "this"

    def __init__(self, bot: BotCore) -> None:
        self.bot = bot

    def shared_access(self, interaction: discord.Interaction) -> Access:
        """May this user change the shared articles, feeds or index from here?"""
        bot, settings = self.bot, self.bot.settings
        return shared_access(
            interaction.user,
            interaction.guild_id,
            role_name=settings.moderator_role,
            home=home_guild_ids(
                settings.home_guilds, [g.id for g in bot.guilds], sees_all=settings.shard_ids is None
            ),
            owners=owner_ids(bot.application),
            what=self.changes,
        )

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        command = interaction.command
        role = self.bot.settings.moderator_role
        if command is not None and command.extras.get(SCOPE) == "guild":
            if interaction_is_moderator(interaction, role):
                return True
            access = Access(False, "not a moderator", only_moderators(role, self.changes))
        else:
            access = self.shared_access(interaction)
            if access.allowed:
                return True
        name = command.qualified_name if command else type(self).__name__
        log.warning(
            "refused /%s for %s (%s) in guild %s: %s",
            name, interaction.user, interaction.user.id, interaction.guild_id, access.why,
        )
        await self._audit(interaction, "refused", command=name, reason=access.why)
        raise NotModerator(access.message)

    async def _audit(self, interaction: discord.Interaction, action: str, **details: object) -> None:
        await self.bot.audit.awrite(
            action=action, user_id=interaction.user.id, user=str(interaction.user), guild_id=interaction.guild_id, **details
        )
