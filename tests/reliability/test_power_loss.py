"""Power cuts at every durability point of builds and corpus edits (the SQLite way: simulate what
the disk keeps, then open it with the real code).

SIGKILL (tests/reliability/test_crash.py) leaves everything the process wrote in the page cache,
so it cannot show a missing fsync. Here every fsync and atomic rename (index.durability) records
what a power cut at that moment would leave: a file holds what it held at its last fsync, a folder
lists what it listed at its last folder fsync (a rename counts from then on), and nothing else
survives. Each such disk is opened
with the real Engine: it must serve a whole, verified version (the one before or the one after),
keep every acknowledged corpus change served or owed, and build again from there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from index import durability
from index.engine import Engine
from index.settings import Settings
from index.store import _versions as versions
from tests.support.articles import story, write_article
from tests.support.fakes import FakeEncoder

Stamp = tuple[int, int]  # a file's size and modification time: a rename keeps both


@dataclass
class PowerCut:
    """The durable state of ``root``, kept up to date from the durability hooks; at each sync point
    it writes the folder a power cut there would leave (``cuts``: label, folder).

    A folder's synced entries name inodes (so a rename counts once the folder holding the new name
    is synced) with the file's stamp then; a file's synced content is kept by inode with its stamp,
    and an entry gets it only when the stamps agree: an inode freed and reused since is not
    mistaken for the file the entry named."""

    root: Path
    out: Path
    entries: dict[int, dict[str, tuple[int, bool, Stamp]]] = field(default_factory=dict)
    contents: dict[int, tuple[bytes, Stamp]] = field(default_factory=dict)
    cuts: list[tuple[str, Path]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for folder, _, names in os.walk(self.root):  # what was there before counts as on the disk
            for name in names:
                self._sync_file(Path(folder) / name)
            self._sync_folder(Path(folder))

    def _sync_file(self, path: Path) -> None:
        st = os.lstat(path)
        stamp = (st.st_size, st.st_mtime_ns)
        self.contents[st.st_ino] = (path.read_bytes(), stamp)
        listing = self.entries.get(os.lstat(path.parent).st_ino, {})
        if listing.get(path.name, (None,))[0] == st.st_ino:  # rewritten in place since its folder synced
            listing[path.name] = (st.st_ino, False, stamp)

    def _sync_folder(self, path: Path) -> None:
        listing = {}
        with os.scandir(path) as found:
            for entry in found:
                st = entry.stat(follow_symlinks=False)
                listing[entry.name] = (st.st_ino, entry.is_dir(follow_symlinks=False), (st.st_size, st.st_mtime_ns))
        self.entries[os.lstat(path).st_ino] = listing

    def __call__(self, point: durability.SyncPoint) -> None:
        if not point.path.is_relative_to(self.root):
            return
        if point.kind == "file":
            self._sync_file(point.path)
        elif point.kind == "dir":
            self._sync_folder(point.path)
        out = self.out / f"cut-{len(self.cuts):03d}"
        self._write(os.lstat(self.root).st_ino, out)
        self.cuts.append((f"power cut after syncing {point.kind} {point.path.relative_to(self.root)}", out))

    def _write(self, folder: int, out: Path) -> None:
        out.mkdir(parents=True)
        for name, (inode, is_folder, stamp) in self.entries.get(folder, {}).items():
            if is_folder:
                self._write(inode, out / name)
                continue
            data, synced = self.contents.get(inode, (b"", (-1, -1)))
            (out / name).write_bytes(data if synced == stamp else b"")  # else its blocks never reached the disk


UPLOAD = b"---\ntitle: Water utility breach\n---\nA water utility in Ohio reported a breach of its billing system to regulators.\n"


def test_a_power_cut_at_any_durability_point_leaves_a_whole_version_and_loses_no_change(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    for n in range(5):
        write_article(corpus, f"story-{n}", story(n))
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=corpus, keep_versions=2)
    engine = Engine(settings, embedder=FakeEncoder())  # type: ignore[arg-type]
    engine.build()

    def live() -> tuple[str, frozenset[str]]:
        return engine.snapshot().version, frozenset(a.citation.article_id for a in engine.articles())

    served = [live()]
    cut = PowerCut(settings.data_dir, tmp_path / "cuts")
    acknowledged: dict[str, int] = {}  # change -> first cut after the call that made it returned
    durability.SYNC_HOOKS.append(cut)
    try:
        engine.corpus.add_file("water.md", UPLOAD)  # /index add file:
        acknowledged["water"] = len(cut.cuts)
        engine.build(changed=[])
        served.append(live())
        engine.corpus.remove("story-2")  # /index remove
        acknowledged["story-2"] = len(cut.cuts)
        engine.build(changed=[])
        served.append(live())
        engine.build(full=True)  # a whole new segment; older versions and segments pruned
        served.append(live())
    finally:
        durability.SYNC_HOOKS.remove(cut)
    assert len(cut.cuts) > 20
    final = served[-1][1]
    assert "water" in final and "story-2" not in final

    versions_in_order = [version for version, _ in served]
    last = 0
    for n, (label, folder) in enumerate(cut.cuts):
        after = Engine(Settings(_env_file=None, data_dir=folder, corpus_dir=corpus), embedder=FakeEncoder())  # type: ignore[arg-type]
        version = after.snapshot().version  # CURRENT names a version that loads and verifies
        assert version in versions_in_order, label
        assert versions_in_order.index(version) >= last, f"{label}: went back to {version}"
        last = versions_in_order.index(version)
        ids = frozenset(a.citation.article_id for a in after.articles())
        assert ids == served[last][1], label  # the whole version, nothing half-written
        assert after.search("Report 1 covers an incident in district 1", k=1), label
        owed = versions.owed(folder).paths  # None: a walk is owed, which covers every change
        for change, since in acknowledged.items():
            applied = ("water" in ids) if change == "water" else ("story-2" not in ids)
            if n >= since:  # acknowledged to the user: served, or owed to the next build
                assert applied or owed is None or any(p.stem == change for p in owed), (label, change)
        if n == len(cut.cuts) - 1:  # what a build that returned has published is on the disk
            assert version == versions_in_order[-1], label
        report = after.build()  # and the next build starts from this disk
        assert frozenset(a.citation.article_id for a in after.articles()) == final, (label, report)
