"""A digest as one Discord embed: per story its date, the quoted sentence and its numbered sources.

Quotes, titles and outlets come from other people's pages, so each is made inert (no formatting,
link or mention; :mod:`bot.core.render`); what does not fit is counted, never cut mid-story.
"""

from __future__ import annotations

import discord

from bot.core.render import COLOR, DESCRIPTION_MAX, citation, escape_markdown, no_mentions, trim
from index import Digest, Story

QUOTE_MAX = 400
SOURCES_SHOWN = 4
CITATION_MAX = 300


def story_block(story: Story, first: int) -> str:
    """``**date** · n outlets``, the quote, then ``[n] [Title](url) — Outlet, date`` per source."""
    outlets = story.outlets
    head = f"**{story.published.isoformat()}** · {outlets} outlet{'s' if outlets != 1 else ''}"
    quote = no_mentions(escape_markdown(trim(" ".join(story.quote.split()), QUOTE_MAX)))
    lines = [head, f"“{quote}” [{first}]"]
    for n, c in enumerate(story.sources[:SOURCES_SHOWN], first):
        lines.append(
            citation(n, no_mentions(c.title), no_mentions(c.source), c.published, c.url, limit=CITATION_MAX)
        )
    if len(story.sources) > SOURCES_SHOWN:
        lines.append(f"…and {len(story.sources) - SOURCES_SHOWN} more outlet(s)")
    return "\n".join(lines)


def digest_embed(digest: Digest, *, title: str = "Cyber-policy news") -> discord.Embed:
    """The stories that fit, newest first; the footer says the period and what was left out."""
    embed = discord.Embed(title=trim(f"{title}: {digest.since} to {digest.until}", 256), colour=COLOR)
    blocks: list[str] = []
    size, number, left = 0, 1, digest.more
    room = DESCRIPTION_MAX - 80  # keeps space for the "…and N more" line
    for i, story in enumerate(digest.stories):
        block = story_block(story, number)
        if size + len(block) + 2 > room:
            left += len(digest.stories) - i
            break
        blocks.append(block)
        size += len(block) + 2
        number += min(len(story.sources), SOURCES_SHOWN)
    if left:
        blocks.append(f"…and {left} more stor{'y' if left == 1 else 'ies'} covered by fewer outlets (try /search).")
    embed.description = "\n\n".join(blocks) or "No articles in the index were published in this period."
    embed.set_footer(text=f"{digest.articles} article(s) · quoted from the articles · index {digest.index_version}")
    return embed
