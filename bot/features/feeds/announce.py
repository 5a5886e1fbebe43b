"""New feed articles posted in the channel each guild chose (``/feeds announce``), one message per poll.

Titles, outlets and leads come from other people's pages, so every piece is made inert and can
neither format, link nor mention (:mod:`bot.core.render`); what does not fit is counted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

import discord

from bot.core.errors import NO_PINGS
from bot.core.protocol import BotCore
from bot.core.ratelimit import Withheld
from bot.core.render import COLOR, DESCRIPTION_MAX, TITLE_MAX, escape_markdown, fresh_citation, no_mentions, trim
from index import FreshArticle

log = logging.getLogger(__name__)

ANNOUNCE_CHANNEL = "announce_channel"
"""Guild setting: the id of the channel where new feed articles are posted."""

LEAD_MAX = 300


def safe_text(text: str) -> str:
    """Article text that can neither format, link nor mention anything."""
    return no_mentions(escape_markdown(" ".join(text.split())))


def article_lines(article: FreshArticle, number: int) -> str:
    """``[n] [Title](url) — Outlet, date`` and, below it, the lead sentence."""
    head = fresh_citation(number, article, 400)
    lead = safe_text(trim(article.lead, LEAD_MAX)) if article.lead else ""
    if article.summary_only:
        lead = (lead + " " if lead else "") + "*(feed summary only)*"
    return f"{head}\n{lead}" if lead else head


def announcement_embed(articles: Sequence[FreshArticle]) -> discord.Embed:
    """One embed listing as many new articles as fit, then how many more there are."""
    count = len(articles)
    embed = discord.Embed(title=trim(f"{count} new article{'s' if count != 1 else ''}", TITLE_MAX), colour=COLOR)
    blocks: list[str] = []
    size = 0
    room = DESCRIPTION_MAX - 60  # keeps space for the "…and N more" line
    for n, article in enumerate(articles, 1):
        block = article_lines(article, n)
        if size + len(block) + 2 > room:
            break
        blocks.append(block)
        size += len(block) + 2
    if len(blocks) < count:
        blocks.append(f"…and {count - len(blocks)} more (try /search).")
    embed.description = "\n\n".join(blocks)
    embed.set_footer(text="Ask about them with /ask")
    return embed


class Announcer:
    def __init__(self, bot: BotCore) -> None:
        self.bot = bot

    async def announce(self, articles: Sequence[FreshArticle]) -> None:
        """One message per guild that chose an announcement channel."""
        channels = await self.bot.guild_settings.aall(ANNOUNCE_CHANNEL)
        embed = announcement_embed(articles)
        for guild_id, channel_id in channels.items():
            if self.bot.get_guild(guild_id) is None:
                continue  # the bot left that guild (or it is on another shard's process)
            try:
                channel = self.bot.get_channel(int(channel_id)) or await self.bot.fetch_channel(int(channel_id))
                if not isinstance(channel, discord.abc.Messageable):
                    raise TypeError(f"channel {channel_id} cannot receive messages")
                await self.bot.send_guard.send(channel.id, partial(channel.send, embed=embed, allowed_mentions=NO_PINGS))
            except Withheld:
                continue  # Discord refused the bot there lately (logged once by the guard)
            except (discord.HTTPException, TypeError, ValueError) as exc:
                log.warning("could not announce in guild %s channel %s: %s", guild_id, channel_id, exc)
