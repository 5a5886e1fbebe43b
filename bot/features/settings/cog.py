"""/settings: per-guild choices for moderators (for now: written or quoted answers).

Checked on the server for every call like /index (``interaction_check``); refusals and changes
go to the audit log. A setting is this server's own, so any of its moderators may change it. Values live in the guild settings store (``bot.features.settings.store``).
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PolicyBotMixin
from bot.core.errors import NO_PINGS
from bot.core.moderated import PER_GUILD, ModeratorCog
from bot.features.answers.written import ANSWERS, style

log = logging.getLogger(__name__)

ANSWER_CHOICES = [
    app_commands.Choice(name="written (a language model writes it from the quotes; checked)", value="written"),
    app_commands.Choice(name="quoted (the quoted sentences only)", value="quoted"),
]


class SettingsCog(ModeratorCog):
    changes = "settings"

    @app_commands.command(
        name="settings", description="Moderators: how this server's answers are given.", extras=PER_GUILD
    )
    @app_commands.describe(answers="written: checked answers written from the quotes; quoted: the quotes only")
    @app_commands.choices(answers=ANSWER_CHOICES)
    @app_commands.guild_only()
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.default_permissions(manage_guild=True)
    async def settings(self, interaction: discord.Interaction, answers: app_commands.Choice[str] | None = None) -> None:
        guild_id = interaction.guild_id or 0
        if answers is not None:
            await self.bot.guild_settings.aset(guild_id, ANSWERS, answers.value)
            await self.bot.audit.awrite(
                action="setting changed",
                setting=ANSWERS,
                value=answers.value,
                user_id=interaction.user.id,
                user=str(interaction.user),
                guild_id=interaction.guild_id,
            )
        current = await style(self.bot, guild_id)
        text = f"Answers in this server: **{current}**."
        if current == "written" and not self.bot.engine.writer.can_write:
            text += " No language model is configured (POLICYBOT_LLM_URL or POLICYBOT_LLM_GGUF), so answers stay quoted."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


async def setup(bot: commands.Bot) -> None:
    assert isinstance(bot, PolicyBotMixin)
    await bot.add_cog(SettingsCog(bot))
