"""New feed articles posted per channel and poll (``/feeds announce``): all, or those on its topic.
Text from other people's pages is made inert (:mod:`bot.core.render`); the one mention ever allowed
is the channel's opt-in role, named alone in ``allowed_mentions``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

import discord

from bot.core.errors import NO_PINGS
from bot.core.matching import matching
from bot.core.protocol import BotCore
from bot.core.ratelimit import Withheld
from bot.core.render import COLOR, DESCRIPTION_MAX, TITLE_MAX, escape_markdown, fresh_citation, no_mentions, trim
from bot.features.feeds.routes import AnnounceRoutes, Route
from index import FreshArticle

log = logging.getLogger(__name__)

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


def announcement_embed(articles: Sequence[FreshArticle], topic: str | None = None) -> discord.Embed:
    """One embed listing as many new articles as fit, then how many more there are."""
    count = len(articles)
    title = f"{count} new article{'s' if count != 1 else ''}" + (f" on “{' '.join(topic.split())}”" if topic else "")
    embed = discord.Embed(title=trim(title, TITLE_MAX), colour=COLOR)
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


def role_mention(role_id: int | None) -> tuple[str | None, discord.AllowedMentions]:
    """The message content and ``allowed_mentions`` of an announcement: the opt-in role alone, or nobody."""
    if role_id is None:
        return None, NO_PINGS
    return f"<@&{role_id}>", discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(id=role_id)], replied_user=False
    )


class Announcer:
    def __init__(self, bot: BotCore, routes: AnnounceRoutes) -> None:
        self.bot = bot
        self.routes = routes

    async def announce(self, articles: Sequence[FreshArticle]) -> None:
        """One message per announcement channel with articles for it (its topic scored once per poll)."""
        by_topic: dict[str, list[FreshArticle] | None] = {}
        for route in await self.routes.aevery():
            if self.bot.get_guild(route.guild_id) is None:
                continue  # the bot left that guild (or it is on another shard's process)
            chosen: Sequence[FreshArticle] | None = articles
            if route.topic is not None:
                key = route.topic.casefold()
                if key not in by_topic:
                    try:
                        by_topic[key] = await matching(self.bot, route.topic, articles)
                    except Exception:
                        log.warning("could not score announcement topic %r", route.topic, exc_info=True)
                        by_topic[key] = None
                chosen = by_topic[key]
            if chosen:
                await self._post(route, chosen)

    async def _post(self, route: Route, articles: Sequence[FreshArticle]) -> None:
        embed = announcement_embed(articles, route.topic)
        content, mentions = role_mention(route.role_id)
        channel_id = route.channel_id
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                raise TypeError(f"channel {channel_id} cannot receive messages")
            send = partial(channel.send, content=content, embed=embed, allowed_mentions=mentions)
            await self.bot.send_guard.send(channel_id, send)
        except Withheld:
            return  # Discord refused the bot there lately (logged once by the guard)
        except (discord.HTTPException, TypeError, ValueError) as exc:
            log.warning("could not announce in guild %s channel %s: %s", route.guild_id, channel_id, exc)
