"""/watch …: anyone saves a question and gets a DM when a new feed article matches it well
(:mod:`bot.features.watch.notify`). Watches belong to one user: nobody can list or remove another's.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.errors import NO_PINGS
from bot.core.render import escape_markdown, trim
from bot.features.watch.store import MAX_QUERY, WatchStore


class WatchCog(commands.Cog):
    watch = app_commands.Group(
        name="watch",
        description="Get a direct message when a new article matches a question you save.",
        allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
    )

    def __init__(self, watches: WatchStore) -> None:
        self.watches = watches

    async def _reply(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(trim(text, 1900), ephemeral=True, allowed_mentions=NO_PINGS)

    @watch.command(name="add", description="Save a question; new articles that match it are sent to you by DM.")
    @app_commands.describe(query="What to watch for, e.g. “EU rules on reporting cyber incidents”")
    async def add(self, interaction: discord.Interaction, query: app_commands.Range[str, 3, MAX_QUERY]) -> None:
        saved = await self.watches.aadd(interaction.user.id, query)
        await self._reply(
            interaction,
            f"Watching #{saved.id}: “{escape_markdown(saved.query)}”. New articles that match it well "
            "will be sent to you by direct message.",
        )

    @watch.command(name="list", description="Your saved questions.")
    async def list_(self, interaction: discord.Interaction) -> None:
        watches = await self.watches.alist(interaction.user.id)
        if not watches:
            await self._reply(interaction, "You watch nothing yet: `/watch add query:<question>`.")
            return
        lines = [f"#{w.id}: “{escape_markdown(trim(w.query, 150))}”" for w in watches]
        await self._reply(interaction, "Your watches:\n" + "\n".join(lines))

    @watch.command(name="remove", description="Stop watching one of your saved questions.")
    @app_commands.describe(id="The watch's number (see /watch list)")
    async def remove(self, interaction: discord.Interaction, id: app_commands.Range[int, 1]) -> None:
        removed = await self.watches.aremove(interaction.user.id, id)
        await self._reply(interaction, f"Stopped watching #{removed.id}: “{escape_markdown(trim(removed.query, 150))}”.")
