"""Watch DMs: after each poll, one direct message per user whose saved questions match new articles.

A match is the engine's score above the threshold (:mod:`bot.core.matching`, shared with the
announcement topics); article text is made inert as in the announcements.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from functools import partial

import discord

from bot.core.errors import NO_PINGS
from bot.core.matching import matching
from bot.core.protocol import BotCore
from bot.core.ratelimit import Withheld
from bot.core.render import COLOR, FIELD_VALUE_MAX, FIELDS_MAX, escape_markdown, fresh_citation, trim
from bot.features.watch.store import WatchStore
from index import FreshArticle

log = logging.getLogger(__name__)


def watch_embed(matches: Sequence[tuple[str, Sequence[FreshArticle]]]) -> discord.Embed:
    """One DM for one user: per watched question, the new articles that match it."""
    embed = discord.Embed(title="New articles for your watches", colour=COLOR)
    total = 0
    for query, articles in matches[:FIELDS_MAX]:
        name = trim(f"“{escape_markdown(' '.join(query.split()))}”", 250)
        lines: list[str] = []
        for n, a in enumerate(articles, 1):
            line = fresh_citation(n, a, 300)
            if sum(len(x) + 1 for x in lines) + len(line) > FIELD_VALUE_MAX - 20:
                lines.append(f"…and {len(articles) - n + 1} more")
                break
            lines.append(line)
        value = "\n".join(lines)
        if total + len(name) + len(value) > 5500:
            break
        embed.add_field(name=name, value=value, inline=False)
        total += len(name) + len(value)
    embed.set_footer(text="Manage your watches with /watch list and /watch remove")
    return embed


class WatchNotifier:
    def __init__(self, bot: BotCore, watches: WatchStore) -> None:
        self.bot = bot
        self.watches = watches

    async def notify(self, articles: Sequence[FreshArticle]) -> None:
        """One DM per user whose saved questions match new articles above the threshold."""
        watches = await self.watches.aall()
        if not watches:
            return
        per_user: dict[int, list[tuple[str, list[FreshArticle]]]] = defaultdict(list)
        for watch in watches:
            try:
                hits = await matching(self.bot, watch.query, articles)
            except Exception:
                log.warning("could not score watch %s", watch.id, exc_info=True)
                continue
            if hits:
                per_user[watch.user_id].append((watch.query, hits))
        for user_id, matches in per_user.items():
            try:
                dm = await self.bot.create_dm(discord.Object(id=user_id))
                await self.bot.send_guard.send(dm.id, partial(dm.send, embed=watch_embed(matches), allowed_mentions=NO_PINGS))
            except Withheld:
                continue  # the user's DMs refused the bot lately (logged once by the guard)
            except discord.HTTPException as exc:  # user gone
                log.info("could not DM watch matches to %s: %s", user_id, exc)
