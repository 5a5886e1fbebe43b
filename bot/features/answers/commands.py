"""/ask, /search, /about and the "Ask policybot about this" message menu: for everyone, in servers and DMs."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.errors import NO_PINGS, BotError
from bot.core.protocol import BotCore
from bot.core.render import Part, plain, progress_text, trim
from bot.features.answers.answering import Answerer
from bot.features.answers.render import about_embed, answer_parts, search_embed
from bot.features.answers.views import answer_view
from bot.features.answers.written import first_parts, upgrade, writing_on
from index import Answer, Filters, PolicybotError, check_question, question_from_text

log = logging.getLogger(__name__)

EVERYWHERE = {"guilds": True, "dms": True, "private_channels": True}
ASK_ABOUT = "Ask policybot about this"


async def send_answer(
    interaction: discord.Interaction,
    answer: Answer,
    record_id: str,
    *,
    ephemeral: bool,
    parts: list[Part] | None = None,
) -> list[discord.WebhookMessage]:
    """The answer as one or more follow-ups (the first replaces "thinking…"); buttons on the last."""
    parts = parts or answer_parts(answer)
    sent = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        kwargs: dict[str, Any] = {}
        if last:
            kwargs["view"] = answer_view(record_id, answer)
        sent.append(
            await interaction.followup.send(
                embeds=part.embeds, ephemeral=ephemeral, allowed_mentions=NO_PINGS, wait=True, **kwargs
            )
        )
    return sent


def parse_day(value: str | None, name: str) -> date | None:
    """A YYYY-MM-DD option, or a clear error naming the option."""
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BotError(f"`{name}` must be a date like 2024-03-01.") from None


def message_text(message: discord.Message) -> str:
    """What a message says: its text with mentions as names, else its first embed (an announcement)."""
    if message.content.strip():
        return message.clean_content
    for embed in message.embeds:
        text = " ".join(t for t in (embed.title, embed.description) if t)
        if text.strip():
            return text
    return ""


class AskCog(commands.Cog):
    def __init__(self, bot: BotCore, answerer: Answerer) -> None:
        self.bot = bot
        self.answerer = answerer
        self.menu = app_commands.ContextMenu(
            name=ASK_ABOUT,
            callback=self.ask_about,
            allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
        )

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    @app_commands.command(name="ask", description="Ask about cybersecurity-policy news; the answer cites its sources.")
    @app_commands.describe(
        question="Your question (3–500 characters)",
        private="Only you will see the answer",
        source="Only articles from this outlet",
        since="Only articles published on or after this day (YYYY-MM-DD)",
        until="Only articles published on or before this day (YYYY-MM-DD)",
    )
    @app_commands.allowed_contexts(**EVERYWHERE)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def ask(
        self,
        interaction: discord.Interaction,
        question: str,
        private: bool = False,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> None:
        question = check_question(question)
        filters = Filters(source.strip() or None if source else None, parse_day(since, "since"), parse_day(until, "until"))
        await self.respond(interaction, question, filters=filters, private=private)

    async def ask_about(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """The context menu: the selected message's text (or its first sentences) is the question."""
        await self.respond(interaction, question_from_text(message_text(message)), filters=None, private=False)

    async def respond(
        self, interaction: discord.Interaction, question: str, *, filters: Filters | None, private: bool
    ) -> None:
        """Answer a checked question the /ask way: "thinking…", then the answer, then its upgrade."""
        self.bot.check_cooldown(interaction.user.id)
        await interaction.response.defer(ephemeral=private, thinking=True)
        answer, record_id = await self.answerer.answer(
            question,
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            filters=filters,
            asked_on=interaction.created_at.date(),
        )
        parts, upgrading = first_parts(answer, await writing_on(self.bot, interaction.guild_id))
        (message, *_) = await send_answer(interaction, answer, record_id, ephemeral=private, parts=parts)
        if upgrading:
            await upgrade(self.bot, self.answerer.feedback, answer, record_id, lambda embeds: message.edit(embeds=embeds, allowed_mentions=NO_PINGS))

    @ask.autocomplete("source")
    async def source_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Outlets in the live index that contain what was typed (at most Discord's 25)."""
        try:
            outlets = await self.bot.in_worker(self.bot.engine.sources)
        except PolicybotError:
            return []
        needle = current.casefold().strip()
        return [
            app_commands.Choice(name=trim(plain(o), 100), value=o[:100])
            for o in outlets
            if plain(o).strip() and (not needle or needle in o.casefold())
        ][:25]

    @app_commands.command(name="search", description="Find articles about a topic, newest first.")
    @app_commands.describe(query="What to look for (3–500 characters)")
    @app_commands.allowed_contexts(**EVERYWHERE)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def search(self, interaction: discord.Interaction, query: str) -> None:
        query = check_question(query)
        self.bot.check_cooldown(interaction.user.id)
        await interaction.response.defer(thinking=True)
        hits = await self.bot.in_worker(self.bot.engine.search, query, k=10)
        await interaction.followup.send(embed=search_embed(query, hits), allowed_mentions=NO_PINGS)

    @app_commands.command(name="about", description="What the bot knows: articles, dates, last index build.")
    @app_commands.allowed_contexts(**EVERYWHERE)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def about(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        stats = await self.bot.in_worker(self.bot.engine.stats)
        job = self.bot.reindexer.current
        running = progress_text(job.progress) if job else None
        await interaction.followup.send(
            embed=about_embed(stats, running=running), ephemeral=True, allowed_mentions=NO_PINGS
        )
