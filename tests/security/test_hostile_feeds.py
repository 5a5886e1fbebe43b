"""Hostile feeds, pages and servers (issue 19), end to end against a real HTTP server on 127.0.0.1.

A feed body naming a local file is never read as that file; a malformed redirect or charset in one
item never stops the poll (the item's error is on the feed, shown by ``feeds list``); and no
parsing library sends a request of its own: every connection in these tests must come from
``index/feeds/_fetch.py`` (the ``only_fetch_connects`` guard fails the test otherwise).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli import main
from index.feeds._fetch import FetchOptions
from index.feeds._poll import add_url, poll_due
from index.feeds._store import FeedStore
from tests.support.articles import write_article
from tests.support.fakes import FakeEncoder
from tests.support.feeds import OTHER_STORY, STORY, page, rss
from tests.support.local_server import LocalServer, only_fetch_connects, run_server  # noqa: F401  (autouse guard)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
WORDS = [f"word{n}" for n in range(80)]
SANCTIONS = [
    "The Treasury Department sanctioned a cryptocurrency exchange on Monday, saying it had laundered ransom "
    "payments for several criminal groups that attacked hospitals and schools across the country last year.",
    "Officials said the exchange ignored basic customer checks and moved more than a hundred million dollars "
    "for the gangs, and that American companies are now barred from doing business with it.",
]


@pytest.fixture
def server() -> object:
    with run_server() as state:
        yield state


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A corpus and data folder for ``bot.cli.main``, with the fast fake encoder."""
    embedder = FakeEncoder()
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    write_article(corpus, "sanctions", "The Treasury sanctioned a crypto exchange that laundered ransom payments.")
    monkeypatch.setenv("POLICYBOT_CORPUS", str(corpus))
    monkeypatch.setenv("POLICYBOT_DATA", str(data))
    monkeypatch.setenv("POLICYBOT_FETCH_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("POLICYBOT_FETCH_TIMEOUT", "3")
    monkeypatch.setattr("index.models._factory.make_embedder", lambda settings: embedder)
    monkeypatch.chdir(tmp_path)  # no .env here
    return corpus, data


def corpus_text(corpus: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(corpus.rglob("*")) if p.is_file())


def list_feeds(capsys: pytest.CaptureFixture[str]) -> tuple[str, dict[str, dict[str, object]]]:
    """``feeds list`` as text and as JSON (by name)."""
    capsys.readouterr()
    assert main(["feeds", "list"]) == 0
    text = capsys.readouterr().out
    assert main(["feeds", "list", "--json"]) == 0
    return text, {f["name"]: f for f in json.loads(capsys.readouterr().out)}


# ---- 1: a feed body that names a local file ------------------------------------------------------
def test_a_feed_body_naming_a_local_file_is_not_read(
    folders: tuple[Path, Path], server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """feedparser opens a string it can open as a file; the body must reach it as a stream only."""
    corpus, _ = folders
    secret = tmp_path / "private" / "local-feed.xml"
    secret.parent.mkdir()
    secret.write_text(
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Local</title><item><guid>s1</guid>"
        "<title>Local secret item</title><description>TOPSECRET words from a file on the bot's own machine."
        "</description></item></channel></rss>"
    )
    server.text("/path.xml", str(secret), content_type="application/rss+xml")
    server.text("/path-bytes.xml", str(secret) + "\n", content_type="text/xml")
    server.text("/file-url.xml", secret.as_uri(), content_type="application/rss+xml")
    server.text("/good", page("CISA orders Ivanti disconnect", STORY))
    server.text("/good.xml", rss("Good", [("g1", server.url("/good"), "CISA orders Ivanti disconnect", "")]))
    for name, path in (("Path", "/path.xml"), ("Path2", "/path-bytes.xml"), ("FileURL", "/file-url.xml"), ("Good", "/good.xml")):
        assert main(["feeds", "add", server.url(path), "--name", name]) == 0

    assert main(["feeds", "poll", "--once"]) == 0
    out = capsys.readouterr().out
    assert "Good: 1 new" in out
    assert "TOPSECRET" not in corpus_text(corpus)  # the local file's item never reached the corpus
    text, feeds = list_feeds(capsys)
    for name in ("Path", "Path2", "FileURL"):
        assert feeds[name]["articles_added"] == 0
        assert str(feeds[name]["last_error"]).startswith("not an RSS or Atom feed")
    assert "last error" in text and "not an RSS or Atom feed" in text


# ---- 2: one malformed item never stops the poll ---------------------------------------------------
def test_hostile_items_become_their_own_errors_and_every_other_item_and_feed_is_ingested(
    folders: tuple[Path, Path], server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, _ = folders

    async def bad_redirect(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": "http://[x/"})

    server.routes["/bad-redirect"] = bad_redirect
    server.text("/ivanti", page("CISA orders Ivanti disconnect", STORY))
    server.text("/cra", page("EU agrees Cyber Resilience Act", OTHER_STORY).encode(), content_type="text/html; charset=punycode")
    server.text("/other", page("Treasury sanctions exchange", SANCTIONS))
    server.text(
        "/mixed.xml",
        rss(
            "Mixed",
            [
                ("m1", server.url("/ivanti"), "CISA orders Ivanti disconnect", ""),
                ("m2", server.url("/bad-redirect"), "A hostile redirect", ""),  # no summary: an item error
                ("m3", server.url("/cra"), "EU agrees Cyber Resilience Act", ""),  # bogus charset label
            ],
        ),
        content_type="application/rss+xml",
    )
    server.text(
        "/redirect-only.xml",
        rss("Hostile", [("h1", server.url("/bad-redirect"), "Only a hostile item", "")]),
        content_type="application/rss+xml",
    )
    server.text(
        "/other.xml", rss("Other", [("o1", server.url("/other"), "Treasury sanctions exchange", "")]), content_type="text/xml"
    )
    for name, path in (("Hostile", "/redirect-only.xml"), ("Mixed", "/mixed.xml"), ("Other", "/other.xml")):
        assert main(["feeds", "add", server.url(path), "--name", name]) == 0
    capsys.readouterr()

    assert main(["feeds", "poll", "--once"]) == 0  # the poll and its build complete
    out = capsys.readouterr().out
    assert "Mixed: 2 new, 0 folded, 0 duplicate(s), 1 item error(s)" in out
    assert "Other: 1 new" in out and "Hostile: 0 new, 0 folded, 0 duplicate(s), 1 item error(s)" in out
    assert "Indexed: version" in out
    written = corpus_text(corpus / "feeds")
    assert "Cyber Resilience Act" in written and "lifetime of the product" in written  # read despite the label

    text, feeds = list_feeds(capsys)
    reason = "redirect to a malformed URL"
    assert reason in str(feeds["Mixed"]["item_errors"]) and server.url("/bad-redirect") in str(feeds["Mixed"]["item_errors"])
    assert reason in str(feeds["Hostile"]["item_errors"]) and feeds["Other"]["item_errors"] is None
    assert feeds["Mixed"]["last_error"] is None and feeds["Mixed"]["articles_added"] == 2
    assert f"items not ingested in the last poll: {server.url('/bad-redirect')}: no article text" in text


# ---- 4: parsing libraries never fetch on their own -----------------------------------------------
def test_bare_urls_in_pages_and_feeds_are_never_fetched_by_a_library(
    server: LocalServer, tmp_path: Path, only_fetch_connects: list[str]  # noqa: F811
) -> None:
    """Page text that *is* a URL (htmldate downloads such strings), a feed body that is a URL
    (feedparser downloads such strings), an external DTD, a stylesheet and images: the server
    sees only the requests the guarded fetcher made, and nothing connected from elsewhere."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    base = server.base
    server.text("/url-page", f"{base}/meta-html\n" + "\n".join(WORDS))  # no space: htmldate's URL test
    server.text("/url-plain", f"{base}/meta-plain\t" + "\t".join(WORDS), content_type="text/plain")
    server.text("/url-feed.xml", f"{base}/meta-feed", content_type="application/rss+xml")
    entries = (
        f"<item><guid>u1</guid><link>{base}/url-page</link><title>A page that is a URL</title>"
        f"<description>&lt;img src='{base}/meta-img'&gt; words about a page here</description></item>"
        f"<item><guid>u2</guid><link>{base}/url-plain</link><title>Plain text that is a URL</title></item>"
    )
    server.text(
        "/feed.xml",
        f"<?xml version='1.0'?><!DOCTYPE rss SYSTEM '{base}/meta-dtd'><?xml-stylesheet href='{base}/meta-xsl'?>"
        f"<rss version='2.0' xmlns:x='{base}/meta-ns'><channel><title>U</title><link>{base}/meta-link</link>"
        f"{entries}</channel></rss>",
        content_type="application/rss+xml",
    )
    opts = FetchOptions(allow_private=True, connect_timeout=2, read_timeout=2, deadline=5)
    with FeedStore.open(tmp_path / "data") as store:
        store.add_feed(server.url("/feed.xml"), name="URLs", now=T0)
        store.add_feed(server.url("/url-feed.xml"), name="URL feed", now=T0)
        report = poll_due(store, corpus, now=T0, options=opts)
        add_url(server.url("/url-page"), corpus, store, options=opts)
    assert {f.feed: f.status for f in report.feeds} == {"URLs": "ok", "URL feed": "failed"}
    assert len(report.new_articles) >= 1  # the pages were really processed (extracted, dates looked for)
    paths = [path for path, _ in server.requests]
    assert not [p for p in paths if p.startswith("/meta")], paths
    assert set(paths) <= {"/feed.xml", "/url-feed.xml", "/url-page", "/url-plain"}
    assert only_fetch_connects == []
