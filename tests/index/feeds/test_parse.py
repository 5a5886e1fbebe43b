"""Feed parsing: RSS and Atom items, and XML entity attacks (what feedparser does, and our guard)."""

from __future__ import annotations

import time
from pathlib import Path

import feedparser
import pytest

from index.feeds._parse import FeedParseError, declares_entities, parse_feed

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Policy Wire</title><link>https://wire.example/</link>
<item><title>CISA issues directive</title><link>https://wire.example/a?utm_source=rss</link>
<guid isPermaLink="false">wire-1</guid><pubDate>Thu, 01 Feb 2024 10:00:00 GMT</pubDate>
<dc:creator>Jane Roe</dc:creator><description>&lt;p&gt;Agencies must &lt;b&gt;patch&lt;/b&gt; now.&lt;/p&gt;</description></item>
<item><title>No guid item</title><link>https://wire.example/b#x</link></item>
<item><title>Repeated</title><link>https://wire.example/a</link><guid isPermaLink="false">wire-1</guid></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Agency News</title>
<link href="https://agency.example/"/><id>urn:agency</id><updated>2024-03-01T00:00:00Z</updated>
<entry><title>New framework</title><id>urn:agency:1</id><link rel="alternate" href="https://agency.example/n/1"/>
<published>2024-03-01T09:30:00Z</published><author><name>Press Office</name></author>
<summary type="html">&lt;p&gt;A new framework for telecoms.&lt;/p&gt;</summary></entry>
</feed>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>t</title><item><title>&lol9;</title><link>http://x.example/a</link></item></channel></rss>"""


def xxe(secret: Path) -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://' + str(secret).encode() + b'">]>\n'
        b'<rss version="2.0"><channel><title>t</title><item><title>a &xxe; b</title>'
        b"<link>http://x.example/a</link></item></channel></rss>"
    )


def test_rss_items() -> None:
    feed = parse_feed(RSS)
    assert feed.title == "Policy Wire"
    assert [i.guid for i in feed.items] == ["wire-1", "https://wire.example/b"]  # repeated guid dropped
    first = feed.items[0]
    assert first.title == "CISA issues directive"
    assert first.link == "https://wire.example/a?utm_source=rss"
    assert first.published is not None and first.published.isoformat() == "2024-02-01T10:00:00+00:00"
    assert first.summary == "Agencies must patch now."
    assert first.authors == ("Jane Roe",)


def test_atom_items() -> None:
    feed = parse_feed(ATOM)
    assert feed.title == "Agency News"
    (item,) = feed.items
    assert (item.guid, item.link, item.title) == ("urn:agency:1", "https://agency.example/n/1", "New framework")
    assert item.published is not None and item.published.day == 1
    assert item.summary == "A new framework for telecoms." and item.authors == ("Press Office",)


def test_not_a_feed() -> None:
    with pytest.raises(FeedParseError, match="not an RSS or Atom feed"):
        parse_feed(b"<html><body>hello</body></html>")


def test_feedparser_alone_does_not_expand_entities(tmp_path: Path) -> None:
    """What the library does by itself: the DOCTYPE is stripped, so nothing is expanded or read."""
    started = time.monotonic()
    laughs = feedparser.parse(LAUGHS)
    assert time.monotonic() - started < 2
    assert all(len(e.get("title", "")) < 100 for e in laughs.entries)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    result = feedparser.parse(xxe(secret))
    assert "TOPSECRET" not in str(result)


def test_entity_declarations_refused(tmp_path: Path) -> None:
    """Our guard does not depend on that: any entity declaration is refused before parsing."""
    with pytest.raises(FeedParseError, match="declares XML entities"):
        parse_feed(LAUGHS)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    with pytest.raises(FeedParseError, match="declares XML entities"):
        parse_feed(xxe(secret))
    utf16 = LAUGHS.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>').encode("utf-16")
    assert declares_entities(utf16)
    with pytest.raises(FeedParseError):
        parse_feed(utf16)
    assert not declares_entities(RSS) and not declares_entities(ATOM)
