"""The base of every moderators-only command group: one check, on the server, on every call.

Discord's ``default_permissions`` only hides commands (and server admins can override it), so each
interaction is checked again here; refusals are logged and written to the audit log like changes.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import discord
from discord.ext import commands

from bot.app import PolicyBotMixin
from bot.errors import NotModerator
from bot.permissions import interaction_is_moderator

log = logging.getLogger(__name__)


class ModeratorCog(commands.Cog):
    """Subclasses set ``changes`` ("the index", "the feeds", …) for the refusal message."""

    changes: ClassVar[str] = "this"

    def __init__(self, bot: PolicyBotMixin) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if interaction_is_moderator(interaction, self.bot.settings.moderator_role):
            return True
        name = interaction.command.qualified_name if interaction.command else type(self).__name__
        log.warning("refused /%s for %s (%s) in guild %s", name, interaction.user, interaction.user.id, interaction.guild_id)
        await self._audit(interaction, "refused", command=name)
        role = self.bot.settings.moderator_role
        raise NotModerator(
            "Only moderators (Manage Server" + (f" or the “{role}” role" if role else "") + f") can change {self.changes}."
        )

    async def _audit(self, interaction: discord.Interaction, action: str, **details: object) -> None:
        await self.bot.audit.awrite(
            action=action, user_id=interaction.user.id, user=str(interaction.user), guild_id=interaction.guild_id, **details
        )
