"""Failing feeds against a real local server: one alert after N failures in a row and one recovery
message, kept in feeds.sqlite across a restart; ``Retry-After`` on 429/503 sets the next poll."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from aiohttp import web

from index.feeds._fetch import MAX_RETRY_AFTER, FetchOptions, parse_retry_after
from index.feeds._poll import poll_due
from index.feeds._store import FeedStore, backoff_delay
from tests.support.feeds import STORY, page, rss, serve_feed
from tests.support.local_server import LocalServer

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def failing(server: LocalServer, path: str, status: int = 500, **headers: str) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, text="down", headers=headers)

    server.routes[path] = handler


def serve_ok(server: LocalServer, path: str) -> None:
    server.text("/story", page("CISA orders Ivanti disconnect", STORY))
    serve_feed(server, path, rss("Test Wire", [("g1", server.url("/story"), "CISA orders Ivanti disconnect", "x")]))


def poll_at(store: FeedStore, corpus: Path, opts: FetchOptions, when: datetime, alert_after: int = 3) -> None:
    """Poll as if at ``when`` (the feed is made due first: backoff is tested on its own)."""
    with store._tx() as db:
        db.execute("UPDATE feeds SET next_due = ?", (when.isoformat(),))
    poll_due(store, corpus, now=when, options=opts, alert_after=alert_after)


def test_one_alert_after_n_failures_one_recovery_and_both_survive_a_restart(
    server: LocalServer, tmp_path: Path, corpus: Path, opts: FetchOptions
) -> None:
    failing(server, "/feed.xml")
    store = FeedStore.open(tmp_path / "data")
    store.add_feed(server.url("/feed.xml"), name="Flaky Wire", now=T0)
    for n in range(2):
        poll_at(store, corpus, opts, T0 + timedelta(hours=n))
    assert store.pending_alerts() == []  # two failures: not yet

    poll_at(store, corpus, opts, T0 + timedelta(hours=2))
    (alert,) = store.pending_alerts()
    assert (alert.feed, alert.kind, alert.failures) == ("Flaky Wire", "failing", 3) and alert.error == "HTTP 500"
    store.close()

    store = FeedStore.open(tmp_path / "data")  # a restart before the alert went out: still owed, once
    assert [a.kind for a in store.pending_alerts()] == ["failing"]
    assert store.alert_delivered(store.pending_alerts()[0])
    assert store.get_feed("Flaky Wire").failing  # type: ignore[union-attr]
    for n in range(3, 7):  # failing on: never a second alert
        poll_at(store, corpus, opts, T0 + timedelta(hours=n))
    assert store.pending_alerts() == []
    store.close()

    store = FeedStore.open(tmp_path / "data")  # a restart while failing: the alert is not repeated
    assert store.pending_alerts() == []
    serve_ok(server, "/feed.xml")
    poll_at(store, corpus, opts, T0 + timedelta(hours=8))
    (recovered,) = store.pending_alerts()
    assert (recovered.kind, recovered.failures, recovered.error) == ("recovered", 0, None)
    assert store.alert_delivered(recovered) and not store.alert_delivered(recovered)  # once
    poll_at(store, corpus, opts, T0 + timedelta(hours=9))
    assert store.pending_alerts() == [] and not store.get_feed("Flaky Wire").failing  # type: ignore[union-attr]
    store.close()


def test_a_feed_that_recovers_before_its_alert_went_out_owes_nothing(
    server: LocalServer, store: FeedStore, corpus: Path, opts: FetchOptions
) -> None:
    failing(server, "/feed.xml", status=404)
    store.add_feed(server.url("/feed.xml"), name="Blip", now=T0)
    for n in range(3):
        poll_at(store, corpus, opts, T0 + timedelta(hours=n))
    assert [a.kind for a in store.pending_alerts()] == ["failing"]
    serve_ok(server, "/feed.xml")
    poll_at(store, corpus, opts, T0 + timedelta(hours=4))
    assert store.pending_alerts() == []  # never told it failed: no recovery message either


def test_the_threshold_is_a_setting(server: LocalServer, store: FeedStore, corpus: Path, opts: FetchOptions) -> None:
    failing(server, "/feed.xml")
    store.add_feed(server.url("/feed.xml"), name="Flaky", now=T0)
    poll_at(store, corpus, opts, T0, alert_after=1)
    assert [a.failures for a in store.pending_alerts()] == [1]


def test_retry_after_seconds_on_429_sets_the_next_poll(
    server: LocalServer, store: FeedStore, corpus: Path, opts: FetchOptions
) -> None:
    failing(server, "/feed.xml", status=429, **{"Retry-After": "7200"})
    store.add_feed(server.url("/feed.xml"), name="Busy", every_minutes=30, now=T0)
    poll_due(store, corpus, now=T0, options=opts)
    feed = store.get_feed("Busy")
    assert feed is not None and feed.next_due == T0 + timedelta(seconds=7200)  # not the 60-minute backoff
    assert feed.last_error == "HTTP 429, retry after 7200 s" and feed.consecutive_failures == 1


def test_retry_after_date_on_503_and_a_hostile_value_is_bounded(
    server: LocalServer, store: FeedStore, corpus: Path, opts: FetchOptions
) -> None:
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    failing(server, "/a.xml", status=503, **{"Retry-After": format_datetime(later, usegmt=True)})
    failing(server, "/b.xml", status=503, **{"Retry-After": "999999999999"})
    failing(server, "/c.xml", status=503, **{"Retry-After": "soon, maybe"})
    for name in "abc":
        store.add_feed(server.url(f"/{name}.xml"), name=name, every_minutes=30, now=T0)
    poll_due(store, corpus, now=T0, options=opts)
    waits = {f.name: f.next_due - T0 for f in store.list_feeds()}
    assert timedelta(hours=2, minutes=59) <= waits["a"] <= timedelta(hours=3)  # the date, less the seconds the poll took
    assert waits["b"] == timedelta(seconds=MAX_RETRY_AFTER)
    assert waits["c"] == backoff_delay(30, 1)  # unreadable: the normal backoff


def test_parse_retry_after() -> None:
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 01 May 2024 12:30:00 GMT", now=now) == 1800.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0  # in the past: at once
    assert parse_retry_after(None) is None and parse_retry_after("-5") is None and parse_retry_after("") is None
