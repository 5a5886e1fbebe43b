"""Feed state in PostgreSQL: stores opened from different data folders (different machines) share
the feeds, items and article signatures, and their ingest lock, and write no file."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from index.feeds._dedup import signature
from index.feeds._store import FeedError, FeedStore

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
STORY = " ".join(f"word{n}" for n in range(150))  # enough distinct words for a signature


def test_two_data_folders_share_one_feed_state(tmp_path: Path, postgres_url: str) -> None:
    with FeedStore.open(tmp_path / "a", postgres_url) as a, FeedStore.open(tmp_path / "b", postgres_url) as b:
        a.add_feed("https://news.example/feed.xml", name="Wire", now=T0)
        assert [f.name for f in b.list_feeds()] == ["Wire"] and b.due_feeds(T0)[0].url.endswith("feed.xml")
        with pytest.raises(FeedError, match="exists"):
            b.add_feed("https://news.example/feed.xml", name="Other", now=T0)
        b.update_feed("wire", enabled=False)
        assert a.due_feeds(T0) == [] and not a.get_feed("Wire").enabled  # type: ignore[union-attr]
        a.update_feed("Wire", enabled=True, now=T0)
        assert [f.name for f in b.due_feeds(T0)] == ["Wire"]

        sig = signature(STORY)
        assert sig is not None
        a.record_item(
            feed="Wire", guid="g1", canonical_url="https://news.example/1", path="wire/one.md", status="added",
            now=T0, article=(1, 2, sig),
        )
        a.record_item(  # the same item again (a second poller): ignored, not an error
            feed="Wire", guid="g1", canonical_url="https://news.example/1", path="wire/one.md", status="duplicate",
            now=T0,
        )
        assert b.item_seen("Wire", "g1") and b.path_for_url("https://news.example/1") == "wire/one.md"
        assert [path for path, _ in b.similar_signatures(sig)] == ["wire/one.md"]
        b.forget_articles(["wire/one.md"])
        assert a.similar_signatures(sig) == [] and a.known_articles() == {}
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # no file in the data folders


def test_the_ingest_lock_is_shared_through_the_database(tmp_path: Path, postgres_url: str) -> None:
    with FeedStore.open(tmp_path / "a", postgres_url) as a, FeedStore.open(tmp_path / "b", postgres_url) as b:
        inside, leave = threading.Event(), threading.Event()

        def hold() -> None:
            with a.ingest_lock():
                inside.set()
                leave.wait(30)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert inside.wait(30)
            with pytest.raises(FeedError, match="another process is still ingesting"), b.ingest_lock(timeout=0.3):
                pass
        finally:
            leave.set()
            holder.join(30)
        with b.ingest_lock(timeout=30):  # released: the other machine may ingest now
            assert not holder.is_alive()
