"""OPML import and export: the starter list survives a round trip unchanged (through the store and
through ``policybot feeds export|import``), and hostile or broken lists are refused or skipped
with a short reason, one bad outline never stopping the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from index.feeds._opml import MAX_OPML_BYTES, OpmlError, OpmlFeed, export_opml, import_opml, parse_opml
from index.feeds._starter import install_starter_feeds, load_starter_feeds
from index.feeds._store import FeedStore
from tests.support.fakes import FakeEncoder


def starter_rows() -> list[tuple[str, str, int, bool, str]]:
    return sorted((f.name, f.url, f.every_minutes, f.enabled, f.kind) for f in load_starter_feeds())


def stored_rows(store: FeedStore) -> list[tuple[str, str, int, bool, str | None]]:
    return sorted((f.name, f.url, f.every_minutes, f.enabled, f.kind) for f in store.list_feeds())


def test_the_starter_list_survives_export_then_import_unchanged(tmp_path: Path) -> None:
    with FeedStore.open(tmp_path / "a") as first:
        install_starter_feeds(first)
        first.update_feed("The Record", enabled=True, every_minutes=45)  # a moderator's changes ride along too
        exported = export_opml(first.list_feeds())
        before = stored_rows(first)
    with FeedStore.open(tmp_path / "b") as second:
        result = import_opml(second, exported)
        assert len(result.added) == len(before) and not result.skipped and not result.existing
        assert stored_rows(second) == before
        assert export_opml(second.list_feeds()) == exported  # byte for byte
        again = import_opml(second, exported)
        assert again.added == [] and len(again.existing) == len(before)  # nothing followed twice
    starter = [OpmlFeed(f.name, f.url, f.every_minutes, f.enabled, f.kind) for f in load_starter_feeds()]
    feeds, skipped = parse_opml(export_opml(starter))  # the shipped file itself, not via a store
    assert feeds == starter and skipped == []


OTHER_READER = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>My feeds</title></head><body>
  <outline text="Policy" title="Policy">
    <outline type="rss" text="Lawfare" xmlUrl="https://www.lawfaremedia.org/feeds/articles"/>
    <outline type="rss" title="Local file" xmlUrl="file:///etc/passwd"/>
    <outline type="rss" text="Gopher" xmlUrl="gopher://example.org/feed"/>
  </outline>
  <outline type="rss" text="No URL"/>
  <outline type="rss" text="Odd interval" xmlUrl="https://example.org/a.xml" every="1"/>
  <outline type="rss" text="Lawfare again" xmlUrl="https://www.lawfaremedia.org/feeds/articles"/>
</body></opml>"""


def test_a_list_from_another_reader_skips_what_it_cannot_use_and_keeps_the_rest(tmp_path: Path) -> None:
    with FeedStore.open(tmp_path / "d") as store:
        result = import_opml(store, OTHER_READER)
        assert result.added == ["Lawfare", "Odd interval"]
        assert result.existing == ["Lawfare again"]  # same URL as one just added
        assert result.skipped == [
            "Local file: not an http(s) URL (file)",
            "Gopher: not an http(s) URL (gopher)",
            "No URL: no xmlUrl",
        ]
        odd = store.get_feed("Odd interval")
        assert odd is not None and odd.enabled and odd.every_minutes == 60  # out of bounds: the default
        assert "3 skipped: Local file" in result.summary()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body/></opml>', "DTD or XML entities"),
        (b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "http://127.0.0.1/x.dtd"><opml/>', "DTD or XML entities"),
        ('<!DOCTYPE opml><opml/>'.encode("utf-16"), "DTD or XML entities"),
        (b"<opml><body><outline", "not well-formed XML"),
        (b"<rss><channel/></rss>", "not an OPML file"),
        (b"<opml><body>" + b" " * MAX_OPML_BYTES + b"</body></opml>", "larger than"),
        (b"<opml><body>" + b'<outline text="x"/>' * 2001 + b"</body></opml>", "more than 2000 outlines"),
    ],
)
def test_hostile_lists_are_refused_with_a_short_reason(tmp_path: Path, data: bytes, reason: str) -> None:
    with FeedStore.open(tmp_path / "h") as store, pytest.raises(OpmlError, match=reason):
        import_opml(store, data)
    with FeedStore.open(tmp_path / "h") as store:
        assert store.list_feeds() == []


def test_cli_export_then_import_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("index.models._factory.make_embedder", lambda settings: FakeEncoder())
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("POLICYBOT_CORPUS", str(tmp_path / "corpus"))
    monkeypatch.setenv("POLICYBOT_DATA", str(tmp_path / "one"))
    assert main(["feeds", "starter"]) == 0
    assert main(["feeds", "export", str(tmp_path / "feeds.opml")]) == 0
    capsys.readouterr()
    assert main(["feeds", "export"]) == 0  # to standard output: the same document
    assert capsys.readouterr().out.encode() == (tmp_path / "feeds.opml").read_bytes()

    monkeypatch.setenv("POLICYBOT_DATA", str(tmp_path / "two"))
    assert main(["feeds", "import", str(tmp_path / "feeds.opml")]) == 0
    assert f"{len(starter_rows())} feed(s) added, 0 already followed, 0 skipped." in capsys.readouterr().out
    with FeedStore.open(tmp_path / "two") as store:
        assert stored_rows(store) == starter_rows()

    (tmp_path / "evil.opml").write_bytes(b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><opml/>')
    assert main(["feeds", "import", str(tmp_path / "evil.opml")]) == 1
    assert "DTD or XML entities" in capsys.readouterr().err
    assert main(["feeds", "import", str(tmp_path / "missing.opml")]) == 1
    assert "cannot read" in capsys.readouterr().err
