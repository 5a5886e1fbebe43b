"""``/index gaps`` as one embed: per group its size, a few of its questions and the nearest article.

The questions are users' text, so each is made inert like article text (no formatting, link or mention).
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.core.gaps import Gap, distinct
from bot.core.render import COLOR, DESCRIPTION_MAX, citation, escape_markdown, no_mentions, trim

QUESTIONS_SHOWN = 3


def gap_block(n: int, gap: Gap) -> str:
    lines = [f"**{n}.** {len(gap.questions)} question(s): {gap.declined} declined, {gap.downvoted} 👎"]
    for q in distinct(gap.questions)[:QUESTIONS_SHOWN]:
        lines.append(f"• {no_mentions(escape_markdown(trim(' '.join(q.question.split()), 200)))}")
    if gap.nearest is None:
        lines.append("nearest article: none (no index yet)")
    else:
        c = gap.nearest.citation
        cited = citation(1, no_mentions(c.title), no_mentions(c.source), c.published, c.url, limit=300)
        lines.append(f"nearest article (score {gap.nearest.score:.2f}, `{escape_markdown(trim(c.article_id, 80))}`): {cited[4:]}")
    return "\n".join(lines)


def gaps_embed(gaps: Sequence[Gap], days: int) -> discord.Embed:
    embed = discord.Embed(title=f"Questions not answered well, last {days} day(s)", colour=COLOR)
    blocks: list[str] = []
    size = 0
    for n, gap in enumerate(gaps, 1):
        block = gap_block(n, gap)
        if size + len(block) + 2 > DESCRIPTION_MAX - 80:
            blocks.append(f"…and {len(gaps) - n + 1} more group(s) (`policybot gaps`).")
            break
        blocks.append(block)
        size += len(block) + 2
    embed.description = "\n\n".join(blocks) or "No declined or 👎 questions in this server in that period."
    embed.set_footer(text="A low score means no article is close: a feed on that subject may be missing.")
    return embed
