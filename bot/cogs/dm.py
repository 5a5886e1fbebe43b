"""Direct messages and mentions: plain messages answered like /ask.

A DM conversation remembers its last question for a while, so "and who else was there?" is
read in the light of what was asked before.
"""

from __future__ import annotations

import logging
import re

import discord
from discord.ext import commands

from bot.app import PolicyBotMixin
from bot.errors import NO_PINGS, reply, reply_error
from bot.views import answer_view
from bot.written import first_parts, upgrade, writing_on
from index.engine import check_question

log = logging.getLogger(__name__)


class DirectCog(commands.Cog):
    def __init__(self, bot: PolicyBotMixin) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id or message.webhook_id:
            return  # never answer bots (ourselves included): that is how reply loops start
        if message.guild is None:
            await self.handle(message, remember=True)
        elif me in message.mentions:
            await self.handle(message, remember=False)

    def question_from(self, message: discord.Message) -> str:
        """The message text without mentions of the bot."""
        me = self.bot.user
        text = message.content
        if me is not None:
            text = re.sub(rf"<@!?{me.id}>", " ", text)
        return text

    async def handle(self, message: discord.Message, *, remember: bool) -> None:
        try:
            question = check_question(self.question_from(message))
            self.bot.check_cooldown(message.author.id)
            channel_id = message.channel.id
            previous = self.bot.memory.get(channel_id) if remember else None
            async with message.channel.typing():
                answer, record_id = await self.bot.answer(
                    question,
                    user_id=message.author.id,
                    guild_id=message.guild.id if message.guild else None,
                    channel_id=channel_id,
                    previous=previous,
                    asked_on=message.created_at.date(),
                )
            if remember:
                self.bot.memory.set(channel_id, question)
            guild_id = message.guild.id if message.guild else None
            parts, upgrading = first_parts(answer, await writing_on(self.bot, guild_id))
            first: discord.Message | None = None
            for i, part in enumerate(parts):
                view = answer_view(record_id, has_sources=bool(answer.sources)) if i == len(parts) - 1 else None
                if i == 0:
                    first = await reply(  # survives the question being deleted meanwhile
                        message, embeds=part.embeds, view=view or discord.utils.MISSING, allowed_mentions=NO_PINGS
                    )
                else:
                    await message.channel.send(
                        embeds=part.embeds, view=view or discord.utils.MISSING, allowed_mentions=NO_PINGS
                    )
            if upgrading and first is not None:
                sent = first
                await upgrade(self.bot, answer, record_id, lambda embeds: sent.edit(embeds=embeds, allowed_mentions=NO_PINGS))
        except Exception as exc:
            await reply_error(message, exc)


async def setup(bot: commands.Bot) -> None:
    assert isinstance(bot, PolicyBotMixin)
    await bot.add_cog(DirectCog(bot))
