"""Power-loss simulation for the feed store, in the SQLite tradition (a SIGKILL cannot show a missing
fsync: the page cache survives it; a power cut loses everything that was not synced).

A hook on :mod:`index.durability` follows what the disk is known to hold: a file's content once
it was fsynced, a folder's entries once the folder was fsynced, the SQLite files at each commit
(WAL with ``synchronous=FULL``: committed means on disk). At every sync point of a real poll the
test materialises that durable view as a copy of the corpus and data folders, then reopens each
copy and checks the invariants: the store opens, no item is recorded whose file is missing or
unreadable, no file is half-written, and the next process's recovery runs.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from index import durability
from index.corpus._read import load_article, load_corpus
from index.feeds._dedup import read_front_matter
from index.feeds._fetch import FetchOptions
from index.feeds._poll import poll_due, sync_corpus
from index.feeds._store import DB_NAME, FeedStore
from tests.support.feeds import OTHER_STORY, STORY, WIRE_COPY, page, rss, serve_feed
from tests.support.local_server import LocalServer

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SQLITE_FILES = (DB_NAME, DB_NAME + "-wal")  # the -shm index is rebuilt by SQLite from the WAL


@dataclass
class DurableDisk:
    """What survives a power cut: entries of synced folders, content of synced files (by inode)."""

    corpus: Path
    data: Path
    out: Path
    entries: dict[int, dict[str, tuple[int, bool]]] = field(default_factory=dict)
    contents: dict[int, bytes] = field(default_factory=dict)
    snapshots: list[tuple[str, Path]] = field(default_factory=list)

    def baseline(self) -> None:
        """Everything on disk before the poll starts counts as durable."""
        for folder, _dirs, files in os.walk(self.corpus):
            self._sync_dir(Path(folder))
            for name in files:
                self._sync_file(Path(folder) / name)

    def _sync_dir(self, folder: Path) -> None:
        with os.scandir(folder) as it:
            self.entries[os.stat(folder).st_ino] = {e.name: (e.inode(), e.is_dir(follow_symlinks=False)) for e in it}

    def _sync_file(self, path: Path) -> None:
        self.contents[os.stat(path).st_ino] = path.read_bytes()

    def hook(self, point: durability.SyncPoint) -> None:
        if point.kind == "file" and point.path.is_relative_to(self.corpus):
            self._sync_file(point.path)
        elif point.kind == "dir" and point.path.is_relative_to(self.corpus):
            self._sync_dir(point.path)
        self.snapshot(f"{len(self.snapshots)}-{point.kind}-{point.path.name}")

    def snapshot(self, label: str) -> None:
        """Copy the durable view: the corpus as the model says, the SQLite files as they are."""
        root = self.out / label
        self._materialise(os.stat(self.corpus).st_ino, root / "corpus")
        (root / "data").mkdir(parents=True)
        for name in SQLITE_FILES:
            if (self.data / name).exists():
                shutil.copyfile(self.data / name, root / "data" / name)
        self.snapshots.append((label, root))

    def _materialise(self, inode: int, target: Path) -> None:
        target.mkdir(parents=True)
        for name, (child, is_dir) in self.entries.get(inode, {}).items():
            if is_dir:
                self._materialise(child, target / name)
            else:  # an entry whose content was never synced holds nothing after the cut
                (target / name).write_bytes(self.contents.get(child, b""))


def invariant_violations(corpus: Path, data: Path) -> list[str]:
    """What is wrong with one power-cut copy (empty when it is consistent)."""
    problems: list[str] = []
    db = sqlite3.connect(data / DB_NAME)
    try:
        if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append("database integrity check failed")
        items = db.execute("SELECT feed, guid, canonical_url, path, status FROM items WHERE path IS NOT NULL").fetchall()
    finally:
        db.close()
    for feed, guid, url, rel, status in items:
        path = corpus / rel
        if not path.is_file():
            problems.append(f"item {guid} ({status}) is recorded but {rel} is missing")
            continue
        try:
            load_article(path)
            meta, _ = read_front_matter(path)
        except Exception as exc:
            problems.append(f"item {guid} ({status}): {rel} is unreadable: {exc}")
            continue
        if status == "added" and (meta.get("guid"), meta.get("feed")) != (guid, feed):
            problems.append(f"item {guid} is recorded as {rel}, which holds {meta.get('guid')}")
        if status == "folded" and url not in {e.get("url") for e in meta.get("also_published_by") or []}:
            problems.append(f"item {guid} is recorded as folded into {rel}, which does not list {url}")
    _articles, errors = load_corpus(corpus)
    problems += [f"half-written file {name}: {reason}" for name, reason in errors]
    try:
        with FeedStore.open(data) as store:  # the next process: opens, recovers, records what it finds
            sync_corpus(store, corpus, now=T0)
    except Exception as exc:
        problems.append(f"the store does not reopen and recover: {type(exc).__name__}: {exc}")
    return problems


@pytest.fixture
def state_url() -> None:
    """The simulation models a SQLite file's durability; PostgreSQL's is the server's own."""
    return None


@pytest.fixture
def disk(tmp_path: Path, corpus: Path) -> Iterator[DurableDisk]:
    model = DurableDisk(corpus=corpus, data=tmp_path / "data", out=tmp_path / "cuts")
    yield model
    if model.hook in durability.SYNC_HOOKS:
        durability.SYNC_HOOKS.remove(model.hook)


def poll_under_power_cuts(server: LocalServer, store: FeedStore, corpus: Path, disk: DurableDisk) -> None:
    """A poll that adds two stories and folds a wire copy into the first, with a copy at every sync."""
    server.text("/story", page("CISA orders Ivanti disconnect", STORY))
    server.text("/cra", page("EU agrees Cyber Resilience Act", OTHER_STORY))
    server.text("/wire", page("US tells agencies to unplug Ivanti devices", WIRE_COPY))
    items = [
        ("w", server.url("/wire"), "US tells agencies to unplug Ivanti devices", ""),
        ("c", server.url("/cra"), "EU agrees Cyber Resilience Act", ""),
        ("s", server.url("/story"), "CISA orders Ivanti disconnect", ""),
    ]  # newest first: the story, then the other story, then the wire copy are ingested
    serve_feed(server, "/feed.xml", rss("Wire", items))
    store.add_feed(server.url("/feed.xml"), name="Wire", now=T0)
    (corpus / "hand-written.md").write_text("---\ntitle: Kept\n---\nA hand-written article that was here before.\n")
    disk.baseline()
    durability.SYNC_HOOKS.append(disk.hook)
    try:
        report = poll_due(store, corpus, now=T0, options=FetchOptions(allow_private=True, deadline=5))
    finally:
        durability.SYNC_HOOKS.remove(disk.hook)
    assert len(report.new_articles) == 2 and len(report.folded) == 1 and not report.errors


def test_every_power_cut_during_a_poll_leaves_a_consistent_store(
    server: LocalServer, store: FeedStore, corpus: Path, disk: DurableDisk
) -> None:
    poll_under_power_cuts(server, store, corpus, disk)
    recorded = 0
    for label, root in disk.snapshots:
        assert invariant_violations(root / "corpus", root / "data") == [], label
        with sqlite3.connect(root / "data" / DB_NAME) as db:
            recorded = max(recorded, db.execute("SELECT count(*) FROM items").fetchone()[0])
    assert recorded == 3  # the last copies hold the whole poll: the checks ran on real records
    assert {label.split("-")[1] for label, _ in disk.snapshots} == {"file", "dir", "commit"}


def test_the_simulation_catches_a_missing_folder_fsync(
    server: LocalServer, store: FeedStore, corpus: Path, disk: DurableDisk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the folder fsync after linking a new article (how the file was written before), a
    power cut can keep the item's record and lose the file's name: the check must see that."""
    import index.corpus._write as corpus_write

    real = corpus_write.fsync_dir

    def skip_article_folders(path: Path) -> None:
        if path.name != "wire":  # the folder the articles are linked into
            real(path)

    monkeypatch.setattr(corpus_write, "fsync_dir", skip_article_folders)
    poll_under_power_cuts(server, store, corpus, disk)
    found = [p for _, root in disk.snapshots for p in invariant_violations(root / "corpus", root / "data")]
    assert any("is recorded but" in p and "is missing" in p for p in found), found
