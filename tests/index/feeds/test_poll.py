"""The whole ingestion path against a real local feed and page server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from index.corpus._read import load_corpus
from index.errors import ArticleError
from index.feeds._fetch import FetchError, FetchOptions
from index.feeds._poll import add_url, ingest_url, poll_due
from index.feeds._store import FeedError, FeedStore
from tests.support.feeds import OTHER_STORY, STORY, WIRE_COPY, page, rss, serve_feed
from tests.support.local_server import LocalServer

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def front(path: Path) -> dict[str, object]:
    text = path.read_text()
    meta = yaml.safe_load(text.split("---\n")[1])
    assert isinstance(meta, dict)
    return meta


def md_files(corpus: Path) -> list[Path]:
    return sorted(corpus.rglob("*.md"))


def test_rss_poll_writes_articles_then_304(
    server: LocalServer, store: FeedStore, corpus: Path, opts: FetchOptions
) -> None:
    server.text("/clean", page("CISA orders Ivanti disconnect", STORY))
    server.text("/broken", "<html><body><div><p>Loading<<<>>></div", content_type="text/html")
    server.text("/huge", "<html><body>" + "<p>word </p>" * 40_000 + "</body></html>")
    summary = "The agency said appliances must be disconnected. Officials described the order in detail."
    serve_feed(
        server,
        "/feed.xml",
        rss(
            "Test Wire",
            [
                ("g1", server.url("/clean?utm_source=rss"), "CISA orders Ivanti disconnect", "Short teaser."),
                ("g2", server.url("/broken"), "EU agrees Cyber Resilience Act", summary),
                ("g3", server.url("/huge"), "An oversized page", summary + " Oversized."),
            ],
        ),
    )
    store.add_feed(server.url("/feed.xml"), name="Test Wire", every_minutes=30, now=T0)
    report = poll_due(store, corpus, now=T0, options=opts)

    (feed_report,) = report.feeds
    assert feed_report.status == "ok" and feed_report.error is None and not report.errors
    assert report.changed and len(report.new_articles) == 3
    by_title = {a.title: a for a in report.new_articles}
    clean = by_title["CISA orders Ivanti disconnect"]
    assert clean.path.parent == corpus / "feeds" / "test-wire"
    assert clean.url == server.url("/clean") and not clean.summary_only
    meta = front(clean.path)
    assert meta["source"] == "Test Wire" and meta["url"] == server.url("/clean")
    assert meta["published"] == "2024-04-30" and meta["authors"] == ["Jane Roe"]
    assert meta["feed"] == "Test Wire" and meta["guid"] == "g1" and meta["summary_only"] is False
    assert meta["fetched_at"] == T0.isoformat()
    text = clean.path.read_text()
    assert "By Jane Roe" in text and "CISA headquarters in Arlington" in text  # byline and caption are content
    assert "Home" not in text and "Copyright" not in text
    for title in ("EU agrees Cyber Resilience Act", "An oversized page"):
        assert by_title[title].summary_only
        assert front(by_title[title].path)["summary_only"] is True
    assert summary in by_title["EU agrees Cyber Resilience Act"].path.read_text()

    articles, errors = load_corpus(corpus)  # the build's own loader reads every file
    assert errors == [] and len(articles) == 3

    state = store.get_feed("Test Wire")
    assert state is not None
    assert state.etag == '"v1"' and state.last_success == T0 and state.last_error is None
    assert state.items_seen == 3 and state.articles_added == 3
    assert state.next_due == T0 + timedelta(minutes=30)

    assert poll_due(store, corpus, now=T0 + timedelta(minutes=10), options=opts).feeds == []  # not due yet
    later = poll_due(store, corpus, now=T0 + timedelta(minutes=31), options=opts)
    assert later.feeds[0].status == "not_modified" and not later.changed
    assert server.requests[-1][1]["If-None-Match"] == '"v1"'
    assert len(md_files(corpus)) == 3 and server.hits("/clean") == 1


def test_atom_feed(server: LocalServer, store: FeedStore, corpus: Path, opts: FetchOptions) -> None:
    server.text("/n/1", page("EU agrees Cyber Resilience Act", OTHER_STORY))
    atom = (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Agency</title>"
        "<id>urn:a</id><updated>2024-03-01T00:00:00Z</updated><entry><title>EU agrees Cyber Resilience Act</title>"
        f"<id>urn:a:1</id><link rel='alternate' href='{server.url('/n/1')}'/><published>2024-03-01T09:30:00Z</published>"
        "<summary>Short.</summary></entry></feed>"
    )
    server.text("/atom", atom, content_type="application/atom+xml")
    store.add_feed(server.url("/atom"), name="Agency", now=T0)
    report = poll_due(store, corpus, now=T0, options=opts)
    (article,) = report.new_articles
    assert front(article.path)["published"] == "2024-03-01" and front(article.path)["guid"] == "urn:a:1"


def test_duplicate_item_and_wire_copy_folded(
    server: LocalServer, store: FeedStore, corpus: Path, opts: FetchOptions
) -> None:
    server.text("/story", page("CISA orders Ivanti disconnect", STORY))
    server.text("/wire/ivanti", page("US tells agencies to unplug Ivanti devices", WIRE_COPY, byline="By Jane Doe"))
    server.text("/cra", page("EU agrees Cyber Resilience Act", OTHER_STORY))
    serve_feed(server, "/one.xml", rss("One", [("o1", server.url("/story"), "CISA orders Ivanti disconnect", "")]))
    serve_feed(
        server,
        "/two.xml",
        rss(
            "Two",
            [
                ("t1", server.url("/story?utm_medium=social#top"), "Same story, tracked link", ""),  # exact duplicate
                ("t2", server.url("/wire/ivanti"), "US tells agencies to unplug Ivanti devices", ""),  # wire copy
                ("t3", server.url("/cra"), "EU agrees Cyber Resilience Act", ""),  # same day, different story
            ],
        ),
    )
    store.add_feed(server.url("/one.xml"), name="One", now=T0)
    first = poll_due(store, corpus, now=T0, options=opts)
    (original,) = first.new_articles
    store.add_feed(server.url("/two.xml"), name="Reuters Wire", now=T0)
    second = poll_due(store, corpus, now=T0 + timedelta(minutes=1), options=opts)

    (report,) = second.feeds
    assert report.duplicates == 1
    assert [a.title for a in report.new] == ["EU agrees Cyber Resilience Act"]
    (folded,) = report.folded
    assert folded.path == original.path and folded.url == server.url("/wire/ivanti") and folded.score >= 0.4
    assert front(original.path)["also_published_by"] == [{"source": "Reuters Wire", "url": server.url("/wire/ivanti")}]
    assert len(md_files(corpus)) == 2
    assert server.hits("/story") == 1  # the tracked duplicate was never fetched

    # The same item again (feed changed, so no 304): nothing new, nothing folded twice.
    serve_feed(server, "/two.xml", rss("Two", [("t2", server.url("/wire/ivanti"), "x", "")]), etag='"v2"')
    third = poll_due(store, corpus, now=T0 + timedelta(hours=2), options=opts)
    assert not third.changed and len(front(original.path)["also_published_by"]) == 1  # type: ignore[arg-type]
    articles, errors = load_corpus(corpus)
    assert errors == [] and len(articles) == 2


def test_state_survives_restart(server: LocalServer, tmp_path: Path, corpus: Path, opts: FetchOptions) -> None:
    server.text("/story", page("CISA orders Ivanti disconnect", STORY))
    serve_feed(server, "/feed.xml", rss("F", [("g1", server.url("/story"), "CISA orders Ivanti disconnect", "")]))
    with FeedStore.open(tmp_path / "data") as store:
        store.add_feed(server.url("/feed.xml"), name="F", every_minutes=15, now=T0)
        poll_due(store, corpus, now=T0, options=opts)
    serve_feed(
        server, "/feed.xml", rss("F", [("g1", server.url("/story"), "CISA orders Ivanti disconnect", "")]), etag='"v2"'
    )
    with FeedStore.open(tmp_path / "data") as store:
        state = store.get_feed("F")
        assert state is not None
        assert (state.etag, state.last_success, state.items_seen, state.articles_added) == ('"v1"', T0, 1, 1)
        assert state.next_due == T0 + timedelta(minutes=15)
        report = poll_due(store, corpus, now=T0 + timedelta(minutes=20), options=opts)
        assert report.feeds[0].status == "ok" and not report.changed
    assert len(md_files(corpus)) == 1 and server.hits("/story") == 1


def test_failing_feed_backs_off_and_keeps_last_good_state(
    server: LocalServer, store: FeedStore, corpus: Path, opts: FetchOptions
) -> None:
    serve_feed(server, "/feed.xml", rss("F", []))
    store.add_feed(server.url("/feed.xml"), name="F", every_minutes=60, now=T0)
    poll_due(store, corpus, now=T0, options=opts)

    async def broken(request: web.Request) -> web.StreamResponse:
        return web.Response(status=503, text="down")

    server.routes["/feed.xml"] = broken
    now = T0 + timedelta(hours=1)
    delays = []
    for _ in range(6):
        report = poll_due(store, corpus, now=now, options=opts)
        assert report.feeds[0].status == "failed" and report.errors == ["F: HTTP 503"]
        state = store.get_feed("F")
        assert state is not None
        delays.append(state.next_due - now)
        assert poll_due(store, corpus, now=state.next_due - timedelta(seconds=1), options=opts).feeds == []
        now = state.next_due
    assert delays == [timedelta(hours=h) for h in (2, 4, 8, 16, 24, 24)]  # doubled, capped at 24 h
    assert state is not None
    assert state.consecutive_failures == 6 and state.last_error == "HTTP 503" and state.last_error_at is not None
    assert state.etag == '"v1"' and state.last_success == T0  # the last good state is kept

    serve_feed(server, "/feed.xml", rss("F", []))
    poll_due(store, corpus, now=now, options=opts)
    state = store.get_feed("F")
    assert state is not None and state.consecutive_failures == 0 and state.last_error is None


def test_slow_feed_and_hostile_feed_fail_cleanly(server: LocalServer, store: FeedStore, corpus: Path) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(2)
        return web.Response(text=rss("S", []), content_type="application/rss+xml")

    server.routes["/slow.xml"] = slow
    server.text(
        "/laughs.xml",
        "<?xml version='1.0'?><!DOCTYPE rss [<!ENTITY a 'aaaaaaaa'><!ENTITY b '&a;&a;&a;&a;'>]>"
        "<rss version='2.0'><channel><title>&b;</title></channel></rss>",
        content_type="application/rss+xml",
    )
    store.add_feed(server.url("/slow.xml"), name="Slow", now=T0)
    store.add_feed(server.url("/laughs.xml"), name="Laughs", now=T0)
    short = FetchOptions(allow_private=True, read_timeout=0.3, deadline=1)
    report = poll_due(store, corpus, now=T0, options=short)
    errors = {f.feed: f.error for f in report.feeds}
    assert errors["Slow"] is not None and "took too long" in errors["Slow"]
    assert errors["Laughs"] is not None and "declares XML entities" in errors["Laughs"]
    assert md_files(corpus) == []


def test_crash_between_write_and_record_never_writes_twice(
    server: LocalServer, tmp_path: Path, corpus: Path, opts: FetchOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.text("/story", page("CISA orders Ivanti disconnect", STORY))
    serve_feed(server, "/feed.xml", rss("F", [("g1", server.url("/story"), "CISA orders Ivanti disconnect", "")]))
    real_record = FeedStore.record_item

    def crash(self: FeedStore, **kwargs: object) -> None:
        if kwargs.get("status") == "added":
            raise KeyboardInterrupt("power cut after the file was written")
        real_record(self, **kwargs)  # type: ignore[arg-type]

    store = FeedStore.open(tmp_path / "data")
    store.add_feed(server.url("/feed.xml"), name="F", now=T0)
    monkeypatch.setattr(FeedStore, "record_item", crash)
    with pytest.raises(KeyboardInterrupt):
        poll_due(store, corpus, now=T0, options=opts)
    store.close()
    monkeypatch.setattr(FeedStore, "record_item", real_record)
    (orphan,) = md_files(corpus)  # written, not recorded
    assert list(corpus.rglob(".*.tmp")) == []

    with FeedStore.open(tmp_path / "data") as store:
        state = store.get_feed("F")
        assert state is not None and state.etag is None  # the poll never finished: still due, no validators
        report = poll_due(store, corpus, now=T0 + timedelta(minutes=1), options=opts)
        assert report.feeds[0].status == "ok" and not report.changed
        assert store.item_seen("F", "g1")
        state = store.get_feed("F")
        assert state is not None and state.articles_added == 1
    assert md_files(corpus) == [orphan]
    assert server.hits("/story") == 1  # recognised from its front matter, not fetched again


def test_add_url_same_path_as_feeds(server: LocalServer, store: FeedStore, corpus: Path, opts: FetchOptions) -> None:
    server.text("/story", page("CISA orders Ivanti disconnect", STORY))
    server.text("/wire", page("US tells agencies to unplug Ivanti devices", WIRE_COPY))
    server.text("/empty", "<html><body><p>Nothing here.</p></body></html>")
    path = add_url(server.url("/story?fbclid=abc"), corpus, store, options=opts, now=T0)
    assert path.parent == corpus / "added" and path.suffix == ".md"
    meta = front(path)
    assert meta["url"] == server.url("/story") and meta["title"] == "CISA orders Ivanti disconnect"
    assert meta["source"] == "127.0.0.1" and meta["published"] == "2024-04-30"
    assert add_url(server.url("/story"), corpus, store, options=opts) == path  # duplicate: the existing file
    result = ingest_url(server.url("/wire"), corpus, store, options=opts)
    assert result.status == "folded" and result.path == path
    assert ingest_url(server.url("/wire"), corpus, store, options=opts).status == "duplicate"
    assert len(md_files(corpus)) == 1
    with pytest.raises(ArticleError, match="no article text"):
        add_url(server.url("/empty"), corpus, store, options=opts)
    with pytest.raises(FetchError, match="loopback"):
        add_url(server.url("/other"), corpus, store, options=FetchOptions())


def test_hand_written_articles_take_part_in_dedup(
    server: LocalServer, store: FeedStore, corpus: Path, opts: FetchOptions
) -> None:
    from index.corpus._write import render_markdown

    (corpus / "cisa-ivanti.md").write_text(
        render_markdown(
            title="CISA Ivanti directive", body="\n\n".join(STORY), source="policybot sample", url="https://x.example/a"
        )
    )
    server.text("/wire", page("US tells agencies to unplug Ivanti devices", WIRE_COPY))
    serve_feed(server, "/feed.xml", rss("F", [("g1", server.url("/wire"), "US tells agencies", "")]))
    store.add_feed(server.url("/feed.xml"), name="F", now=T0)
    report = poll_due(store, corpus, now=T0, options=opts)
    assert [c.path.name for c in report.folded] == ["cisa-ivanti.md"] and report.new_articles == []


def test_feed_store_commands(store: FeedStore) -> None:
    a = store.add_feed("https://a.example/feed", name="A", every_minutes=30, now=T0)
    assert a.enabled and a.next_due == T0 and a.as_dict()["items_seen"] == 0
    with pytest.raises(FeedError, match="exists"):
        store.add_feed("https://a.example/feed", name="Other", now=T0)
    with pytest.raises(FeedError, match="exists"):
        store.add_feed("https://b.example/feed", name="A", now=T0)
    with pytest.raises(FeedError, match="at least"):
        store.add_feed("https://c.example/feed", name="C", every_minutes=1)
    store.add_feed("https://b.example/feed", name="B", enabled=False, now=T0)
    assert [f.name for f in store.list_feeds()] == ["A", "B"]
    assert [f.name for f in store.due_feeds(T0)] == ["A"]
    assert store.update_feed("b", enabled=True, now=T0).enabled  # names match case-insensitively
    assert store.remove_feed("https://a.example/feed").name == "A"
    with pytest.raises(FeedError, match="no feed"):
        store.remove_feed("A")


def test_feed_removed_while_being_polled(
    server: LocalServer, store: FeedStore, corpus: Path, opts: FetchOptions
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        store.remove_feed("F")  # a moderator's /feeds remove arrives mid-poll
        return web.Response(text=rss("F", []), content_type="application/rss+xml")

    server.routes["/feed.xml"] = handler
    store.add_feed(server.url("/feed.xml"), name="F", now=T0)
    assert poll_due(store, corpus, now=T0, options=opts).feeds[0].status == "ok"
    assert store.list_feeds() == []


def test_the_corpus_is_compared_with_the_store_once_an_hour(
    server: LocalServer, store: FeedStore, corpus: Path, opts: FetchOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison stats every corpus file: a poll does it on a process's first poll and then
    hourly, not on every poll (at a million files each one would take seconds)."""
    import index.feeds._poll as poll

    calls: list[datetime] = []
    real = poll.sync_corpus

    def counting(store_: FeedStore, corpus_dir: Path, *, now: datetime | None = None) -> int:
        calls.append(now or T0)
        return real(store_, corpus_dir, now=now)

    monkeypatch.setattr(poll, "sync_corpus", counting)
    server.text("/story", page("CISA orders Ivanti disconnect", STORY))
    serve_feed(server, "/feed.xml", rss("F", [("g1", server.url("/story"), "CISA orders Ivanti disconnect", "")]))
    store.add_feed(server.url("/feed.xml"), name="F", every_minutes=5, now=T0)
    for minutes in (0, 10, 59):
        assert poll_due(store, corpus, now=T0 + timedelta(minutes=minutes), options=opts).feeds
    assert calls == [T0]
    poll_due(store, corpus, now=T0 + timedelta(minutes=65), options=opts)
    assert calls == [T0, T0 + timedelta(minutes=65)]
    with FeedStore.open(store.path.parent, store.database_url) as restarted:  # a new process compares on its first poll
        assert poll_due(restarted, corpus, now=T0 + timedelta(minutes=70), options=opts).feeds
    assert len(calls) == 3


def test_unexpected_exceptions_fail_one_item_or_one_feed_only(
    server: LocalServer, store: FeedStore, corpus: Path, opts: FetchOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: whatever an item's extraction or a feed's parsing raises (a bug, an input
    nobody foresaw), the poll records it on that item or feed and goes on with the others."""
    import index.feeds._poll as poll

    real_extract, real_parse = poll.extract_article, poll.parse_feed

    def extract(html: str, url: str) -> object:
        if url.endswith("/explodes"):
            raise RuntimeError("extractor bug")
        return real_extract(html, url)

    def parse(data: bytes) -> object:
        if b"Exploding feed" in data:
            raise MemoryError("parser blew up")
        return real_parse(data)

    monkeypatch.setattr(poll, "extract_article", extract)
    monkeypatch.setattr(poll, "parse_feed", parse)
    server.text("/story", page("CISA orders Ivanti disconnect", STORY))
    sanctions = [
        "The Treasury Department sanctioned a cryptocurrency exchange on Monday, saying it had laundered ransom "
        "payments for several criminal groups that attacked hospitals and schools across the country last year.",
        "Officials said the exchange ignored basic customer checks and moved more than a hundred million dollars "
        "for the gangs, and that American companies are now barred from doing business with it.",
    ]
    server.text("/explodes", page("Treasury sanctions exchange", sanctions))
    server.text("/cra", page("EU agrees Cyber Resilience Act", OTHER_STORY))
    serve_feed(server, "/a.xml", rss("A", [("a1", server.url("/explodes"), "Boom", ""), ("a2", server.url("/story"), "CISA", "")]))
    serve_feed(server, "/b.xml", rss("Exploding feed", [("b1", server.url("/story"), "x", "")]))
    serve_feed(server, "/c.xml", rss("C", [("c1", server.url("/cra"), "EU agrees Cyber Resilience Act", "")]))
    for name in ("A", "B", "C"):
        store.add_feed(server.url(f"/{name.lower()}.xml"), name=name, now=T0)

    report = poll_due(store, corpus, now=T0, options=opts)

    by_feed = {f.feed: f for f in report.feeds}
    assert [a.title for a in by_feed["A"].new] == ["CISA"] and by_feed["A"].status == "ok"
    (item_error,) = by_feed["A"].item_errors
    assert item_error == f"{server.url('/explodes')}: unexpected RuntimeError: extractor bug"
    assert by_feed["B"].status == "failed" and by_feed["B"].error == "unexpected MemoryError: parser blew up"
    assert [a.title for a in by_feed["C"].new] == ["EU agrees Cyber Resilience Act"]
    a, b = store.get_feed("A"), store.get_feed("B")
    assert a is not None and b is not None
    assert a.item_errors == item_error and a.last_error is None and a.etag is None  # retried next time
    assert b.last_error == "unexpected MemoryError: parser blew up" and b.consecutive_failures == 1

    monkeypatch.setattr(poll, "extract_article", real_extract)  # fixed: the next poll clears the item error
    later = poll_due(store, corpus, now=T0 + timedelta(hours=2), options=opts)
    assert [x.title for x in later.feeds[0].new] == ["Boom"]
    a = store.get_feed("A")
    assert a is not None and a.item_errors is None
