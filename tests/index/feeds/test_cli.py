"""``policybot feeds …`` and ``policybot add URL…`` through the real entry point, against a local server.

The engine gets the fast fake encoder (the model does not matter here); feeds and pages are real
HTTP on 127.0.0.1, allowed by ``POLICYBOT_FETCH_ALLOW_PRIVATE``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from index.cli._feeds import seconds_until
from index.feeds._starter import load_starter_feeds
from tests.support.articles import write_article
from tests.support.fakes import FakeEncoder
from tests.support.feeds import OTHER_STORY, STORY, page, rss, serve_feed
from tests.support.local_server import LocalServer


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
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


def feed_list(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["feeds", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, list)
    return data


def test_add_list_remove(folders: tuple[Path, Path], server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feeds", "add", server.url("/feed.xml"), "--name", "Test News", "--every", "30"]) == 0
    assert "Added feed 'Test News'" in capsys.readouterr().out
    (feed,) = feed_list(capsys)
    assert feed["name"] == "Test News" and feed["url"] == server.url("/feed.xml") and feed["every_minutes"] == 30
    assert feed["last_success"] is None and feed["items_seen"] == 0 and feed["articles_added"] == 0

    assert main(["feeds", "add", server.url("/feed.xml")]) == 1  # same URL again
    assert capsys.readouterr().err.startswith("error: a feed 'Test News'")
    assert main(["feeds", "add", "ftp://example.org/feed"]) == 1
    assert "http:// or https://" in capsys.readouterr().err
    assert main(["feeds", "add", server.url("/other.xml"), "--every", "1"]) == 1
    assert "at least 5 minutes" in capsys.readouterr().err

    assert main(["feeds", "list"]) == 0
    out = capsys.readouterr().out
    assert "Test News [on, every 30 min]" in out and "last success never" in out
    assert main(["feeds", "remove", "test news"]) == 0
    assert "Removed feed 'Test News'" in capsys.readouterr().out
    assert feed_list(capsys) == []
    assert main(["feeds", "remove", "Test News"]) == 1
    err = capsys.readouterr().err
    assert err == "error: no feed named 'Test News'\n"


def test_poll_once_ingests_indexes_and_answers(
    folders: tuple[Path, Path], server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, _ = folders
    server.text("/ivanti", page("CISA orders Ivanti disconnect", STORY))
    server.text("/cra", page("EU agrees Cyber Resilience Act", OTHER_STORY))
    items = [
        ("g1", server.url("/ivanti"), "CISA orders Ivanti disconnect", "Agencies must disconnect Ivanti appliances."),
        ("g2", server.url("/cra"), "EU agrees Cyber Resilience Act", "Makers must handle flaws."),
    ]
    serve_feed(server, "/feed.xml", rss("Test News", items))
    main(["build"])
    main(["feeds", "add", server.url("/feed.xml"), "--name", "Test News"])
    capsys.readouterr()

    assert main(["feeds", "poll", "--once"]) == 0
    out = capsys.readouterr().out
    assert "Test News: 2 new, 0 folded, 0 duplicate(s)" in out
    assert f"+ CISA orders Ivanti disconnect ({server.url('/ivanti')})" in out
    assert "Indexed: version" in out and "(added 2)" in out
    assert len(list((corpus / "feeds").rglob("*.md"))) == 2

    (feed,) = feed_list(capsys)
    assert feed["items_seen"] == 2 and feed["articles_added"] == 2 and feed["last_error"] is None
    assert feed["last_success"] is not None

    assert main(["ask", "Within how many hours must agencies disconnect Ivanti appliances?", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["answerable"] and "48 hours" in answer["answer"]
    assert answer["sources"][0]["url"] == server.url("/ivanti")

    assert main(["feeds", "poll", "--once"]) == 0  # not due again for an hour
    assert capsys.readouterr().out.strip() == "No feed is due."


def test_poll_reports_a_failing_feed_and_keeps_going(
    folders: tuple[Path, Path], server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.text("/broken.xml", "<html>not a feed</html>", content_type="text/html")
    main(["feeds", "add", server.url("/missing.xml"), "--name", "Gone"])
    main(["feeds", "add", server.url("/broken.xml"), "--name", "Broken"])
    capsys.readouterr()
    assert main(["feeds", "poll", "--once"]) == 0
    out = capsys.readouterr().out
    assert "Gone: failed: HTTP 404" in out and "Broken: failed:" in out
    feeds = {f["name"]: f for f in feed_list(capsys)}
    assert feeds["Gone"]["last_error"] == "HTTP 404" and feeds["Gone"]["consecutive_failures"] == 1


def test_starter_list_is_installed_off(folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    starter = load_starter_feeds()
    assert main(["feeds", "starter"]) == 0
    assert f"{len(starter)} feed(s) added (off)" in capsys.readouterr().out
    feeds = feed_list(capsys)
    assert len(feeds) == len(starter) and not any(f["enabled"] for f in feeds)

    assert main(["feeds", "starter", "--enable", starter[0].name]) == 0
    assert "0 feed(s) added" in capsys.readouterr().out
    enabled = [f["name"] for f in feed_list(capsys) if f["enabled"]]
    assert enabled == [starter[0].name]
    assert main(["feeds", "disable", starter[0].name]) == 0
    assert not any(f["enabled"] for f in feed_list(capsys))


def test_add_urls_then_one_build(
    folders: tuple[Path, Path], server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, _ = folders
    server.text("/ivanti", page("CISA orders Ivanti disconnect", STORY))
    server.text("/file.zip", b"PK\x03\x04", content_type="application/zip")
    main(["build"])
    capsys.readouterr()
    code = main(["add", server.url("/ivanti"), server.url("/file.zip"), "ftp://example.org/x"])
    assert code == 1  # two of three failed: said on one line each, the good one is indexed
    captured = capsys.readouterr()
    assert f"{server.url('/ivanti')} -> cisa-orders-ivanti-disconnect\n" in captured.out  # its article id
    assert "added 1" in captured.out
    errors = captured.err.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("error: ") for e in errors)
    assert "unexpected content type application/zip" in errors[0] and "only http and https" in errors[1]
    assert (corpus / "added" / "cisa-orders-ivanti-disconnect.md").exists()

    assert main(["add", server.url("/ivanti")]) == 0  # the same page again: nothing new
    assert "added 0" in capsys.readouterr().out
    assert len(list((corpus / "added").iterdir())) == 1


def test_seconds_until_next_feed() -> None:
    now = datetime.now(UTC)
    assert seconds_until(None, 60) == 60
    assert seconds_until(now - timedelta(minutes=5), 60) == 1.0
    assert 25 < seconds_until(now + timedelta(seconds=30), 60) <= 30
    assert seconds_until(now + timedelta(hours=2), 60) == 60
