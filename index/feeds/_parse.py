"""Feed bytes → items (RSS and Atom, via feedparser). A document that declares XML entities is
refused before any parser sees it, and feedparser gets a stream, never a string it could take for a
URL or a file name, so no feed can expand entities, read a local file or fetch past the guard."""

from __future__ import annotations

import calendar
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from typing import Any

import feedparser

from index.corpus import seal_library_downloads
from index.errors import PolicybotError
from index.feeds._urls import canonical_url

seal_library_downloads()

_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


class FeedParseError(PolicybotError):
    """The bytes are not a usable feed (or declare XML entities); ``str(exc)`` says why."""


@dataclass(frozen=True)
class FeedItem:
    """One entry of a feed. ``guid`` falls back to the canonical link when the feed gives none."""

    guid: str
    link: str
    title: str
    published: datetime | None
    summary: str
    authors: tuple[str, ...]


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its own title and link (for naming it) and its items, in feed order."""

    title: str
    link: str
    items: tuple[FeedItem, ...]


def declares_entities(data: bytes) -> bool:
    """Whether an XML document declares entities, in an ASCII-compatible, UTF-16 or UTF-32 encoding."""
    if _ENTITY_DECL.search(data):
        return True
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        needle = "<!ENTITY".encode(codec)
        if needle in data or "<!entity".encode(codec) in data:
            return True
    return False


def html_to_text(fragment: str) -> str:
    """Plain text from a feed's HTML summary (tags dropped, entities decoded, spaces collapsed)."""
    text = re.sub(r"(?i)<br\s*/?>|</p\s*>", "\n", fragment)
    text = unescape(_TAGS.sub(" ", text))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def parse_feed(data: bytes) -> ParsedFeed:
    """Items of an RSS or Atom document; FeedParseError when it is not a feed or declares entities."""
    # feedparser strips the DOCTYPE and resolves no external entity today; we do not rely on that
    # staying true across versions and parsers, and real feeds never declare entities.
    if declares_entities(data):
        raise FeedParseError("the feed declares XML entities (refused: entity expansion attacks)")
    parsed = feedparser.parse(io.BytesIO(data), sanitize_html=True, resolve_relative_uris=True)  # a stream: never a path or URL
    meta: Any = parsed.get("feed", {})
    entries: list[Any] = list(parsed.get("entries", []))
    if not parsed.get("version") and not entries:
        reason = parsed.get("bozo_exception")
        raise FeedParseError(f"not an RSS or Atom feed{f' ({reason})' if reason else ''}")
    items: list[FeedItem] = []
    seen: set[str] = set()
    for entry in entries:
        item = _item(entry)
        if item is None or item.guid in seen:
            continue
        seen.add(item.guid)
        items.append(item)
    return ParsedFeed(
        title=" ".join(str(meta.get("title", "")).split()),
        link=str(meta.get("link", "")),
        items=tuple(items),
    )


def _item(entry: Any) -> FeedItem | None:
    link = str(entry.get("link") or "").strip()
    if not link:
        for candidate in entry.get("links", []) or []:
            if candidate.get("href") and candidate.get("rel", "alternate") == "alternate":
                link = str(candidate["href"]).strip()
                break
    guid = str(entry.get("id") or "").strip() or (canonical_url(link) if link else "")
    if not guid:
        return None
    title = " ".join(html_to_text(str(entry.get("title") or "")).split())
    summary_html = str(entry.get("summary") or "")
    contents = entry.get("content") or []
    if contents:  # Atom <content> / RSS content:encoded is fuller than the summary
        longest = max((str(c.get("value") or "") for c in contents), key=len)
        if len(longest) > len(summary_html):
            summary_html = longest
    authors: list[str] = []
    for author in entry.get("authors", []) or []:
        name = " ".join(str(author.get("name") or "").split())
        if name and name not in authors:
            authors.append(name)
    if not authors and entry.get("author"):
        authors.append(" ".join(str(entry["author"]).split()))
    return FeedItem(
        guid=guid,
        link=link,
        title=title,
        published=_date(entry),
        summary=html_to_text(summary_html),
        authors=tuple(authors),
    )


def _date(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None
