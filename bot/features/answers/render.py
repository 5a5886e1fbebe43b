"""Answers, searches and /about as Discord embeds that always fit (pure functions).

Answer text and sources come from articles, so each piece goes through :mod:`bot.core.render`:
inert, cut at a sentence or word, and packed into as many messages as it needs.
"""

from __future__ import annotations

import re
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
from bot.features.answers.stories import stories
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


SEVERAL = (
    "🔀 This question matches several stories. The best match is below and the others after it; "
    "a numbered button shows one story's answer and sources."
)

_MARKERS = re.compile(r"\s*\[\d+\]")


def answer_markdown(answer: Answer) -> str:
    """The answer as Discord Markdown: the reader's short answer in bold first (when it found one),
    then the quoted or written text, everything from articles escaped."""
    short = " ".join((answer.short_answer or "").split())
    if not short:
        return markdown_with_spans(answer.text, answer.spans)
    text, spans = _without_lead(answer.text, answer.spans, short)
    return f"**{escape_markdown(short)}**\n{markdown_with_spans(text, spans)}"


def _without_lead(text: str, spans: Sequence[Span], short: str) -> tuple[str, tuple[Span, ...]]:
    """The text without a copy of the short answer standing as its own first sentence ("Forty.
    Forty countries pledged…"), so the lead is not said twice; a quoted sentence that merely
    starts with the same words is left whole."""
    lead = short.rstrip(".") + "."
    if not text.startswith(lead):
        return text, tuple(spans)
    cut = len(lead)
    while cut < len(text) and text[cut] == " ":
        cut += 1
    kept = tuple(Span(s.start - cut, s.end - cut, s.kind) for s in spans if s.start >= cut)
    return text[cut:], kept


def other_story_lines(answer: Answer) -> list[str]:
    """``2. Title (2024-02-01) — short answer`` for each story after the best one."""
    lines = []
    for n, story in enumerate(stories(answer)[1:], 2):
        c = story.sources[0].citation if story.sources else None
        title = escape_markdown(trim(" ".join(c.title.split()), 200)) if c else "untitled"
        said = " ".join((story.short_answer or _MARKERS.sub("", story.text)).split())
        lines.append(f"**{n}.** {title} ({fmt_date(c.published if c else None)}) — {escape_markdown(trim(said, 300))}")
    return lines


def answer_parts(answer: Answer, *, title: str | None = None, footer: str | None = None) -> list[Part]:
    """The answer text (split over several embeds when long), its numbered sources, and for an
    ambiguous question the other stories (room for them is kept first: the buttons name them)."""
    heading = trim(plain(title or answer.question), TITLE_MAX)
    body = answer_markdown(answer) or "(empty answer)"
    if len(stories(answer)) > 1:
        body = f"{SEVERAL}\n\n{body}"
    # Leave room in each description for nothing else: the sources go into fields of the last embed.
    pieces = split_text(body, DESCRIPTION_MAX)
    embeds: list[discord.Embed] = []
    for i, piece in enumerate(pieces):
        embed = discord.Embed(
            title=heading if i == 0 else trim(f"{heading} (cont.)", TITLE_MAX),
            description=piece,
            colour=COLOR if answer.answerable else discord.Colour.light_grey(),
        )
        embeds.append(embed)
    fields = fields_from_lines("Sources", source_lines(answer.sources))
    others = fields_from_lines("Other stories", other_story_lines(answer))
    room = EMBED_TOTAL_MAX - FOOTER_MAX // 8
    reserved = sum(len(name) + len(value) for name, value in others)
    needed = sum(len(name) + len(value) for name, value in fields) + reserved
    target = embeds[-1]
    if (fields or others) and embed_size(target) + needed > room:
        target = discord.Embed(colour=target.colour)
        embeds.append(target)
    for name, value in fields:
        if (
            embed_size(target) + len(name) + len(value) + reserved > room
            or len(target.fields) + len(others) >= FIELDS_MAX
        ):
            break
        target.add_field(name=name, value=value, inline=False)
    for name, value in others:
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
