"""OPML, the feed list every RSS reader imports and exports; our fields ride as plain outline
attributes (``every``, ``enabled``, ``category``) that others ignore. An upload is untrusted: DTDs
and entities are refused unparsed, size and outlines bounded, and one bad outline is only reported.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from index.errors import PolicybotError
from index.feeds._parse import declares_entities
from index.feeds._store import DEFAULT_EVERY_MINUTES, MIN_EVERY_MINUTES, FeedError, FeedState, FeedStore

MAX_OPML_BYTES = 1_000_000
MAX_OUTLINES = 2_000
MAX_EVERY_MINUTES = 10_080  # a week, as /feeds add allows
_DOCTYPE = re.compile(rb"<!\s*DOCTYPE", re.IGNORECASE)


class OpmlError(PolicybotError):
    """The file is not an OPML list we accept; ``str(exc)`` says why in a few words."""


@dataclass(frozen=True)
class OpmlFeed:
    """One feed of a list: what :class:`FeedState` keeps that another reader can use."""

    name: str
    url: str
    every_minutes: int = DEFAULT_EVERY_MINUTES
    enabled: bool = True
    kind: str | None = None


@dataclass
class OpmlImport:
    """What an import did: feeds added, feeds already followed (same name or URL), outlines skipped
    with the reason (``"name: why"``)."""

    added: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a reply or a terminal."""
        text = f"{len(self.added)} feed(s) added, {len(self.existing)} already followed, {len(self.skipped)} skipped"
        return text + (": " + "; ".join(self.skipped[:10]) if self.skipped else "") + "."


# ---- export ---------------------------------------------------------------------------------


def export_opml(feeds: Iterable[FeedState | OpmlFeed], *, title: str = "policybot feeds") -> bytes:
    """An OPML 2.0 document listing ``feeds`` in the order given (no date: the same list gives the same bytes)."""
    root = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(root, "head"), "title").text = title
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attrs = {
            "type": "rss",
            "text": feed.name,
            "title": feed.name,
            "xmlUrl": feed.url,
            "every": str(feed.every_minutes),
            "enabled": "true" if feed.enabled else "false",
        }
        if feed.kind:
            attrs["category"] = feed.kind
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# ---- import ---------------------------------------------------------------------------------


def parse_opml(data: bytes) -> tuple[list[OpmlFeed], list[str]]:
    """``(feeds, skipped)`` from an OPML document; OpmlError when the whole file is refused.

    Outlines nested in folders count; one without a usable ``xmlUrl`` (missing, not http or https,
    too long) is skipped with its reason, and the others are read.
    """
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"the file is larger than {MAX_OPML_BYTES // 1000} kB")
    if declares_entities(data) or _declares_doctype(data):
        raise OpmlError("the file declares a DTD or XML entities (refused: entity expansion attacks)")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise OpmlError(f"not well-formed XML ({exc})") from None
    if _local(root.tag) != "opml":
        raise OpmlError("not an OPML file (its root element is not <opml>)")
    outlines = [el for el in root.iter() if _local(el.tag) == "outline"]
    if len(outlines) > MAX_OUTLINES:
        raise OpmlError(f"more than {MAX_OUTLINES} outlines")
    feeds: list[OpmlFeed] = []
    skipped: list[str] = []
    for outline in outlines:
        attrs = {_local(k): v for k, v in outline.attrib.items()}
        url = " ".join(attrs.get("xmlUrl", "").split())
        name = " ".join((attrs.get("text") or attrs.get("title") or url).split())[:200]
        if not url:
            if not len(outline):  # a folder has children and no feed of its own
                skipped.append(f"{name or 'an outline'}: no xmlUrl")
            continue
        problem = _url_problem(url)
        if problem:
            skipped.append(f"{name}: {problem}")
            continue
        feeds.append(
            OpmlFeed(
                name=name or url,
                url=url,
                every_minutes=_every(attrs.get("every")),
                enabled=attrs.get("enabled", "true").strip().lower() not in ("false", "0", "no", "off"),
                kind=_category(attrs.get("category")),
            )
        )
    return feeds, skipped


def import_opml(store: FeedStore, data: bytes) -> OpmlImport:
    """Add every feed of the list the store does not follow yet (by name or URL); see :func:`parse_opml`."""
    feeds, skipped = parse_opml(data)
    result = OpmlImport(skipped=list(skipped))
    for feed in feeds:
        if store.get_feed(feed.url) or store.get_feed(feed.name):
            result.existing.append(feed.name)
            continue
        try:
            store.add_feed(
                feed.url, name=feed.name, every_minutes=feed.every_minutes, enabled=feed.enabled, kind=feed.kind
            )
        except FeedError as exc:
            result.skipped.append(f"{feed.name}: {exc}")
            continue
        result.added.append(feed.name)
    return result


def _declares_doctype(data: bytes) -> bool:
    if _DOCTYPE.search(data):
        return True
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        if "<!DOCTYPE".encode(codec) in data or "<!doctype".encode(codec) in data:
            return True
    return False


def _local(tag: str) -> str:
    """A tag or attribute name without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _url_problem(url: str) -> str | None:
    if len(url) > 2000:
        return "URL too long"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "malformed URL"
    if parts.scheme.lower() not in ("http", "https"):
        return f"not an http(s) URL ({parts.scheme or 'relative'})"
    if not parts.hostname:
        return "URL has no host"
    return None


def _every(value: str | None) -> int:
    """The ``every`` attribute in minutes, within the bounds ``/feeds add`` allows (else the default)."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit() and MIN_EVERY_MINUTES <= int(text[:7]) <= MAX_EVERY_MINUTES:
        return int(text)
    return DEFAULT_EVERY_MINUTES


def _category(value: str | None) -> str | None:
    """The first OPML category (``/agency,/x`` → ``agency``), short and plain."""
    first = (value or "").split(",")[0].strip().strip("/").split("/")[-1].strip()
    return first[:40] or None
