"""New feed articles as Discord messages: the channel announcement and the watch DM (pure functions).

Article titles, outlets and leads come from other people's web pages, so every piece is made inert
(:func:`bot.core.render.escape_markdown`): Markdown cannot format or forge a link, a bare URL does not
link, invisible and bidi characters are dropped, and ``@`` is followed by a zero-width joiner so
that no text can even look like a mention. The messages are also sent with ``allowed_mentions``
none. A burst of items is one message: the lines are packed into one embed and whatever does not
fit is counted ("…and 12 more").
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.core.render import (
    COLOR,
    DESCRIPTION_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    JOINER,
    TITLE_MAX,
    citation,
    escape_markdown,
    trim,
)
from index import FreshArticle

LEAD_MAX = 300


def no_mentions(text: str) -> str:
    """``@everyone``, ``<@123>`` and the like no longer read as mentions."""
    return text.replace("@", "@" + JOINER)


def safe_text(text: str) -> str:
    """Article text that can neither format, link nor mention anything."""
    return no_mentions(escape_markdown(" ".join(text.split())))


def linked(number: int, article: FreshArticle, limit: int) -> str:
    """``[n] [Title](url) — Outlet, date`` with the title and outlet defused (the URL is kept as is)."""
    return citation(
        number, no_mentions(article.title), no_mentions(article.source), article.published, article.url, limit=limit
    )  # citation() makes the title and the outlet inert


def article_lines(article: FreshArticle, number: int) -> str:
    """``[n] [Title](url) — Outlet, date`` and, below it, the lead sentence."""
    head = linked(number, article, 400)
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


def watch_embed(matches: Sequence[tuple[str, Sequence[FreshArticle]]]) -> discord.Embed:
    """One DM for one user: per watched question, the new articles that match it."""
    embed = discord.Embed(title="New articles for your watches", colour=COLOR)
    total = 0
    for query, articles in matches[:FIELDS_MAX]:
        name = trim(f"“{escape_markdown(' '.join(query.split()))}”", 250)
        lines: list[str] = []
        for n, a in enumerate(articles, 1):
            line = linked(n, a, 300)
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
