"""Text made inert and cut to Discord's limits, for every message the bot sends (pure functions).

Discord rejects a whole message when one limit is exceeded, and article or user text could format,
link, mention or hide what it says; so every such text passes through here before it is shown.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

import discord

from index import BuildProgress, FreshArticle

# Discord's documented limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FIELDS_MAX = 25
FOOTER_MAX = 2048
AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
EMBEDS_PER_MESSAGE = 10

COLOR = discord.Colour(0x2B6CB0)
ELLIPSIS = "…"


@dataclass(frozen=True)
class Part:
    """One message's worth of embeds (the answer may need several messages)."""

    embeds: list[discord.Embed]


# ---- text helpers ----------------------------------------------------------------------------
def trim(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a word boundary, with an ellipsis when cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + ELLIPSIS


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, broken after sentences, else words, else anywhere."""
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = max(window.rfind(". "), window.rfind("! "), window.rfind("? "), window.rfind("\n"))
        if cut > limit // 2:
            cut += 1
        else:
            cut = window.rfind(" ")
            if cut <= limit // 2:
                cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


JOINER = "\u200d"
"""Zero-width joiner: breaks ``://`` and ``@everyone`` invisibly, and Discord keeps it (emoji need it)."""
_KEPT_FORMAT = {"\u200c", JOINER}  # the joiners: Persian, Indic scripts and emoji sequences need them
_FILLERS = {"\u115f", "\u1160", "\u3164", "\uffa0"}  # Hangul fillers: letters that show as nothing


def _hidden(ch: str) -> str | None:
    """What an invisible character becomes: "" (dropped), " " (a control), or None (kept)."""
    if ch.isascii() and (ch.isprintable() or ch in "\t\n"):
        return None
    category = unicodedata.category(ch)
    if category == "Cc":
        return " "
    if (category == "Cf" and ch not in _KEPT_FORMAT) or ch in _FILLERS:
        return ""  # bidi overrides and isolates, marks, zero-width spaces, soft hyphens, tags…
    return None


def plain(text: str) -> str:
    """Text that shows what it says and links nowhere: bidi controls and other invisible characters
    dropped, and every ``:/`` broken by a joiner (Discord links bare ``scheme://…`` and ``<scheme:/…>``,
    in message content and embeds alike). Any cut of the result is still link-free."""
    if not text.isascii() or not text.isprintable():
        text = "".join(ch if (sub := _hidden(ch)) is None else sub for ch in text)
    return text.replace(":/", ":" + JOINER + "/")


_LINK_TEXT = re.compile(r"([\[\]\\*_~`|><])")


def link_text(text: str) -> str:
    """Text safe inside ``[...]`` of a Markdown link (no nested brackets, formatting or links)."""
    return _LINK_TEXT.sub(r"\\\1", " ".join(plain(text).split()))


def safe_url(url: str) -> str | None:
    """An http(s) URL with the characters that would end a Markdown link escaped (and invisible
    ones, which could disguise the address Discord shows before opening it, encoded), or None."""
    url = url.strip()
    if not re.match(r"https?://[^\s]+$", url, re.I):
        return None
    url = "".join(ch if _hidden(ch) is None else quote(ch) for ch in url)
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def escape_markdown(text: str) -> str:
    """Article text as inert Discord text: :func:`plain`, and never formatting (``*``, ``_``, ``~``,
    backticks, spoilers, quotes, headings) nor ``<…>`` (links, mentions, channels, timestamps)."""
    return re.sub(r"([*_~`|\\>#\[\]<])", r"\\\1", plain(text))


def no_mentions(text: str) -> str:
    """``@everyone``, ``<@123>`` and the like no longer read as mentions (a joiner after each ``@``)."""
    return text.replace("@", "@" + JOINER)


def fmt_date(value: date | None) -> str:
    return value.isoformat() if value else "undated"


def citation(number: int, title: str, outlet: str, published: date | None, url: str, *, limit: int) -> str:
    """``[n] [Title](url) — Outlet, 2024-02-01``, shortening the title first so it fits ``limit``."""
    tail = f" — {link_text(trim(outlet, 80))}, {fmt_date(published)}"  # the outlet is article text too
    link = safe_url(url)
    room = limit - len(f"[{number}] ") - len(tail) - (len(link) + 4 if link else 0)
    if link and room < 20:  # an absurdly long URL: drop the link, keep the title
        link = None
        room = limit - len(f"[{number}] ") - len(tail)
    shown = link_text(trim(title, max(room, 10)))
    while len(shown) > room and room > 10:  # escaping may have added characters
        room -= 5
        shown = link_text(trim(title, room))
    head = f"[{shown}]({link})" if link else shown
    return trim(f"[{number}] {head}{tail}", limit)


def fresh_citation(number: int, article: FreshArticle, limit: int) -> str:
    """A new feed article as :func:`citation`, where no ``@`` can read as a mention either."""
    return citation(
        number, no_mentions(article.title), no_mentions(article.source), article.published, article.url, limit=limit
    )


def embed_size(embed: discord.Embed) -> int:
    """Characters that count towards the 6000 total, as Discord counts them."""
    return len(embed)


def check_limits(embeds: Sequence[discord.Embed], content: str | None = None) -> list[str]:
    """Every limit the message would break (empty when Discord would accept it)."""
    problems = []
    if content is not None and len(content) > CONTENT_MAX:
        problems.append(f"content {len(content)} > {CONTENT_MAX}")
    if len(embeds) > EMBEDS_PER_MESSAGE:
        problems.append(f"{len(embeds)} embeds > {EMBEDS_PER_MESSAGE}")
    total = 0
    for e in embeds:
        total += embed_size(e)
        if e.title and len(e.title) > TITLE_MAX:
            problems.append("title too long")
        if e.description and len(e.description) > DESCRIPTION_MAX:
            problems.append(f"description {len(e.description)} > {DESCRIPTION_MAX}")
        if len(e.fields) > FIELDS_MAX:
            problems.append("too many fields")
        for f in e.fields:
            if len(f.name or "") > FIELD_NAME_MAX or len(f.value or "") > FIELD_VALUE_MAX:
                problems.append(f"field {f.name!r} too long")
        if e.footer.text and len(e.footer.text) > FOOTER_MAX:
            problems.append("footer too long")
    if total > EMBED_TOTAL_MAX:
        problems.append(f"embeds total {total} > {EMBED_TOTAL_MAX}")
    return problems


def pack(embeds: Iterable[discord.Embed]) -> list[Part]:
    """Group embeds into messages that respect the per-message count and 6000-character total."""
    parts: list[Part] = []
    current: list[discord.Embed] = []
    size = 0
    for e in embeds:
        n = embed_size(e)
        if current and (size + n > EMBED_TOTAL_MAX or len(current) >= EMBEDS_PER_MESSAGE):
            parts.append(Part(current))
            current, size = [], 0
        current.append(e)
        size += n
    if current:
        parts.append(Part(current))
    return parts


STAGES = ("reading", "embedding", "writing", "verifying")


def progress_bar(done: int, total: int, width: int = 20) -> str:
    """``▰▰▰▱▱▱ 50%`` (plain characters: no emoji rate limits, no Markdown)."""
    ratio = 0.0 if total <= 0 else min(max(done / total, 0.0), 1.0)
    filled = round(ratio * width)
    return f"{'▰' * filled}{'▱' * (width - filled)} {round(ratio * 100)}%"


def progress_text(progress: BuildProgress | None) -> str:
    if progress is None:
        return "starting…"
    stage_no = STAGES.index(progress.stage) + 1 if progress.stage in STAGES else 0
    where = f"step {stage_no}/{len(STAGES)} " if stage_no else ""
    bar = progress_bar(progress.done, progress.total)
    return f"{where}{progress.stage}: {bar} ({progress.done}/{progress.total})"
