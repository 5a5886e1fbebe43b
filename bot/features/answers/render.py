"""Answers, searches and /about as Discord embeds that always fit (pure functions).

Answer text and sources come from articles, so each piece goes through :mod:`bot.core.render`:
inert, cut at a sentence or word, and packed into as many messages as it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import discord

from bot.core.render import (
    COLOR,
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    FOOTER_MAX,
    TITLE_MAX,
    Part,
    citation,
    embed_size,
    escape_markdown,
    fmt_date,
    pack,
    plain,
    split_text,
    trim,
)
from index import Answer, ArticleHit, IndexStats, Source, Span


def markdown_with_spans(text: str, spans: Sequence[Span]) -> str:
    """Plain answer text as Discord Markdown: every span in bold, everything else escaped."""
    out, pos = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < pos or span.end > len(text):
            continue
        out.append(escape_markdown(text[pos : span.start]))
        out.append("**" + escape_markdown(text[span.start : span.end]) + "**")
        pos = span.end
    out.append(escape_markdown(text[pos:]))
    return "".join(out)


def source_lines(sources: Sequence[Source]) -> list[str]:
    return [
        citation(n, c.title, c.source, c.published, c.url, limit=FIELD_VALUE_MAX)
        for n, c in enumerate((s.citation for s in sources), 1)
    ]


def fields_from_lines(name: str, lines: Sequence[str]) -> list[tuple[str, str]]:
    """Lines packed into as few fields (≤1024 each) as they fit in."""
    fields: list[tuple[str, str]] = []
    value = ""
    for line in lines:
        line = trim(line, FIELD_VALUE_MAX)
        if value and len(value) + 1 + len(line) > FIELD_VALUE_MAX:
            fields.append((name if not fields else f"{name} (cont.)", value))
            value = ""
        value = f"{value}\n{line}" if value else line
    if value:
        fields.append((name if not fields else f"{name} (cont.)", value))
    return fields[:FIELDS_MAX]


def answer_parts(answer: Answer, *, title: str | None = None, footer: str | None = None) -> list[Part]:
    """The answer text (split over several embeds when long) and its numbered sources."""
    heading = trim(plain(title or answer.question), TITLE_MAX)
    # Leave room in each description for nothing else: the sources go into fields of the last embed.
    pieces = split_text(markdown_with_spans(answer.text, answer.spans) or "(empty answer)", DESCRIPTION_MAX)
    embeds: list[discord.Embed] = []
    for i, piece in enumerate(pieces):
        embed = discord.Embed(
            title=heading if i == 0 else trim(f"{heading} (cont.)", TITLE_MAX),
            description=piece,
            colour=COLOR if answer.answerable else discord.Colour.light_grey(),
        )
        embeds.append(embed)
    fields = fields_from_lines("Sources", source_lines(answer.sources))
    needed = sum(len(name) + len(value) for name, value in fields)
    target = embeds[-1]
    if fields and embed_size(target) + needed > EMBED_TOTAL_MAX - FOOTER_MAX // 8:
        target = discord.Embed(colour=target.colour)
        embeds.append(target)
    for name, value in fields:
        if embed_size(target) + len(name) + len(value) > EMBED_TOTAL_MAX - FOOTER_MAX // 8:
            break
        target.add_field(name=name, value=value, inline=False)
    if footer:
        embeds[-1].set_footer(text=trim(plain(footer), FOOTER_MAX // 8))
    return pack(embeds)


def sources_embed(answer_json: dict[str, object]) -> discord.Embed:
    """The quoted sentences behind an answer (the 'Sources' button), one field per source."""
    sources = answer_json.get("sources") or []
    embed = discord.Embed(title="Quoted sentences", colour=COLOR)
    if not isinstance(sources, list) or not sources:
        embed.description = "This answer has no sources."
        return embed
    for n, s in enumerate(sources[:FIELDS_MAX], 1):
        if not isinstance(s, dict):
            continue
        name = trim(f"[{n}] {escape_markdown(str(s.get('title') or 'untitled'))}", FIELD_NAME_MAX)
        quote = trim(f"> {escape_markdown(' '.join(str(s.get('quote') or '').split()))}", FIELD_VALUE_MAX - 1)
        if embed_size(embed) + len(name) + len(quote) > EMBED_TOTAL_MAX:
            break
        embed.add_field(name=name, value=quote or "—", inline=False)
    return embed


def search_embed(query: str, hits: Sequence[ArticleHit]) -> discord.Embed:
    """Matching articles, newest first, as linked lines."""
    embed = discord.Embed(title=trim(f"Articles for: {plain(query)}", TITLE_MAX), colour=COLOR)
    if not hits:
        embed.description = "No matching articles."
        return embed
    cited = [h.citation for h in hits]
    ordered = sorted(cited, key=lambda c: (c.published is not None, c.published or date.min), reverse=True)
    lines: list[str] = []
    size = 0
    for n, c in enumerate(ordered, 1):
        line = citation(n, c.title, c.source, c.published, c.url, limit=400)
        if size + len(line) + 1 > DESCRIPTION_MAX - 50:
            break
        lines.append(line)
        size += len(line) + 1
    embed.description = "\n".join(lines)
    embed.set_footer(text="Newest first")
    return embed


def about_embed(stats: IndexStats, *, running: str | None = None) -> discord.Embed:
    embed = discord.Embed(
        title="What policybot knows",
        description="Answers questions about cybersecurity-policy news from an index of articles, "
        "quoting the sentences it used and citing every source.",
        colour=COLOR,
    )
    embed.add_field(name="Articles", value=str(stats.articles))
    embed.add_field(name="Newest article", value=fmt_date(stats.newest_published))
    embed.add_field(name="Oldest article", value=fmt_date(stats.oldest_published))
    embed.add_field(name="Last index build", value=trim(stats.built_at or "unknown", 100))
    embed.add_field(name="Index version", value=trim(stats.version, 100))
    embed.add_field(name="Model", value=trim(stats.model or "unknown", 200))
    if running:
        embed.add_field(name="Reindex running", value=trim(running, FIELD_VALUE_MAX), inline=False)
    return embed
