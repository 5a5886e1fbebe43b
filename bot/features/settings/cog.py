"""/settings: per-guild choices for moderators (for now: written or quoted answers).

A setting is this server's own, so any of its moderators may change it; every call is checked on
the server like /index, and refusals and changes go to the audit log.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.core.errors import NO_PINGS
from bot.core.guild_settings import ANSWERS, answer_style
from bot.core.moderated import PER_GUILD, ModeratorCog

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
        current = await answer_style(self.bot.guild_settings, guild_id, self.bot.settings.answers)
        text = f"Answers in this server: **{current}**."
        if current == "written" and not self.bot.engine.writer.can_write:
            text += " No language model is configured (POLICYBOT_LLM_URL or POLICYBOT_LLM_GGUF), so answers stay quoted."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
