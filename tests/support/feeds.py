"""Feed stories, their article pages and feeds, as a local server serves them to the poller."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from aiohttp import web

from tests.support.local_server import LocalServer

STORY = [
    "The Cybersecurity and Infrastructure Security Agency on Thursday ordered federal civilian agencies to "
    "disconnect Ivanti Connect Secure and Policy Secure appliances within 48 hours, after reports that several "
    "vulnerabilities were being exploited by multiple threat actors.",
    "Agencies must rebuild the devices from clean images and reset credentials before reconnecting them, the "
    "agency said in a supplemental direction to its emergency directive.",
    "Officials said the order covered roughly two dozen agencies that run the affected products, and that CISA "
    "would help smaller agencies that lack the staff to do the work.",
]
WIRE_COPY = [
    "WASHINGTON (Reuters) - " + STORY[0].replace("ordered", "told"),
    STORY[2],
    STORY[1],
    "Reporting by Jane Doe; Editing by John Smith",
]
OTHER_STORY = [
    "European lawmakers reached a provisional agreement on the Cyber Resilience Act, which will require makers of "
    "connected products to handle vulnerabilities for the expected lifetime of the product.",
    "Manufacturers must report actively exploited flaws to the EU cybersecurity agency within 24 hours, and the "
    "rules cover everything from baby monitors to industrial control software.",
    "Negotiators said manufacturers will have three years to comply once the act enters into force, after talks "
    "that ran late into the night in Brussels.",
]


def page(title: str, paragraphs: list[str], byline: str = "By Jane Roe") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title} | Test News</title><meta name='author' content='Jane Roe'>"
        f"<meta property='article:published_time' content='2024-04-30T08:00:00Z'></head><body>"
        f"<nav><a href='/'>Home</a> | <a href='/world'>World</a></nav><article><h1>{title}</h1>"
        f"<p class='byline'>{byline}</p>{body}<figure><img src='x.jpg'><figcaption>CISA headquarters in "
        f"Arlington, Virginia.</figcaption></figure></article><footer>Copyright Test News</footer></body></html>"
    )


def rss(title: str, items: list[tuple[str, str, str, str]]) -> str:
    """items: (guid, link, title, summary)."""
    date = format_datetime(datetime(2024, 4, 30, 8, tzinfo=UTC), usegmt=True)
    entries = "".join(
        f"<item><guid isPermaLink='false'>{g}</guid><link>{link}</link><title>{t}</title>"
        f"<pubDate>{date}</pubDate><description>{s}</description></item>"
        for g, link, t, s in items
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>{title}</title><link>http://x/</link>{entries}</channel></rss>"


def serve_feed(server: LocalServer, path: str, xml: str, etag: str = '"v1"') -> None:
    """A feed that answers 304 to a matching If-None-Match, like a real server."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            text=xml,
            content_type="application/rss+xml",
            headers={"ETag": etag, "Last-Modified": "Tue, 30 Apr 2024 08:00:00 GMT"},
        )

    server.routes[path] = handler
