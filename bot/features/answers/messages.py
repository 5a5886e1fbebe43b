"""DMs and mentions, answered like /ask; a mention starts a thread when the bot may. A DM or the bot's
thread remembers its last question a while, so a follow-up is read in its light; every post goes
through the send guard, so a channel that refuses the bot is left alone instead of costing a 403 each."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from functools import partial

import discord
from discord.ext import commands

from bot.core.errors import NO_PINGS, describe, reply
from bot.core.protocol import BotCore
from bot.core.ratelimit import Withheld
from bot.core.render import plain, trim
from bot.core.typing_indicator import typing_in
from bot.features.answers.answering import Answerer
from bot.features.answers.views import answer_view
from bot.features.answers.written import first_parts, upgrade, writing_on
from index import check_question

log = logging.getLogger(__name__)


def may_post(message: discord.Message) -> bool:
    """False when the gateway cache already says the bot cannot post here (no request needed);
    True when it can, or when the cache cannot tell (then the send guard finds out)."""
    channel, guild = message.channel, message.guild
    me = guild.me if guild is not None else None
    if me is None:
        return True  # DMs, or a guild whose member list lacks the bot
    try:
        if isinstance(channel, discord.Thread):
            perms = channel.permissions_for(me)
            return perms.view_channel and perms.send_messages_in_threads
        if isinstance(channel, discord.abc.GuildChannel):
            perms = channel.permissions_for(me)
            return perms.view_channel and perms.send_messages
    except discord.ClientException:  # a thread whose parent is not cached
        pass
    return True


def may_start_thread(message: discord.Message) -> bool:
    """True when the bot may start a public thread from this message and post in it."""
    channel, guild = message.channel, message.guild
    me = guild.me if guild is not None else None
    if me is None or not isinstance(channel, discord.TextChannel):
        return False  # DMs, threads, forums, voice-text: reply in place
    perms = channel.permissions_for(me)
    return perms.view_channel and perms.create_public_threads and perms.send_messages_in_threads


def in_own_thread(message: discord.Message, me: discord.abc.Snowflake) -> bool:
    """A message in a thread this bot started (others' threads are not its conversation)."""
    return isinstance(message.channel, discord.Thread) and message.channel.owner_id == me.id


class DirectCog(commands.Cog):
    def __init__(self, bot: BotCore, answerer: Answerer) -> None:
        self.bot = bot
        self.answerer = answerer

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id or message.webhook_id:
            return  # never answer bots (ourselves included): that is how reply loops start
        mentioned = me in message.mentions
        if message.guild is None:
            await self.handle(message, remember=True)
        elif in_own_thread(message, me) and (mentioned or message.content.strip()):
            await self.handle(message, remember=True)  # without the content intent, text comes only with a mention
        elif mentioned:
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
            if not may_post(message):
                raise Withheld(message.channel.id)
            await self.answer(message, remember=remember)
        except Withheld:
            self.bot.metrics.replies_withheld.inc()  # the guard logged when it started backing off
        except Exception as exc:
            await self.report(message, exc)

    async def answer(self, message: discord.Message, *, remember: bool) -> None:
        guard = self.bot.send_guard
        question = check_question(self.question_from(message))
        self.bot.check_cooldown(message.author.id)
        channel = message.channel
        threaded = not remember and may_start_thread(message)
        if threaded:
            start = partial(message.create_thread, name=trim(plain(question), 100), auto_archive_duration=1440)
            channel = await guard.send(message.channel.id, start)
            remember = True  # the thread is a conversation, like a DM
        previous = self.bot.memory.get(channel.id) if remember else None
        async with typing_in(guard, channel.id, channel):
            answer, record_id = await self.answerer.answer(
                question,
                user_id=message.author.id,
                guild_id=message.guild.id if message.guild else None,
                channel_id=channel.id,
                previous=previous,
                asked_on=message.created_at.date(),
            )
        if remember:
            self.bot.memory.set(channel.id, question)
        guild_id = message.guild.id if message.guild else None
        parts, upgrading = first_parts(answer, await writing_on(self.bot, guild_id))
        first: discord.Message | None = None
        for i, part in enumerate(parts):
            view = answer_view(record_id, answer) if i == len(parts) - 1 else None
            # A reply survives the question's deletion; in a new thread the question heads it already.
            send = partial(reply, message) if i == 0 and not threaded else channel.send
            sent = await guard.send(
                channel.id, partial(send, embeds=part.embeds, view=view or discord.utils.MISSING, allowed_mentions=NO_PINGS)
            )
            if i == 0:
                first = sent
        if upgrading and first is not None:
            edited = first

            def edit(embeds: list[discord.Embed]) -> Awaitable[discord.Message]:
                return guard.send(edited.channel.id, partial(edited.edit, embeds=embeds, allowed_mentions=NO_PINGS))

            await upgrade(self.bot, self.answerer.feedback, answer, record_id, edit)

    async def report(self, message: discord.Message, error: BaseException) -> None:
        """The DM/mention counterpart of :func:`bot.core.errors.send_interaction_error`."""
        text = describe(error, where="message")
        try:
            await self.bot.send_guard.send(message.channel.id, partial(reply, message, text, allowed_mentions=NO_PINGS))
        except Withheld:
            self.bot.metrics.replies_withheld.inc()
        except discord.HTTPException:
            log.warning("could not report an error in channel %s", message.channel.id, exc_info=True)
