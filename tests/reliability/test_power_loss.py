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

from index import durability, versions
from index.engine import Engine
from index.settings import Settings
from tests.conftest import write_article
from tests.fakes import FakeEncoder
from tests.index.test_segments import _story


@dataclass
class PowerCut:
    """The durable state of ``root``, kept up to date from the durability hooks; at each point it
    writes the folder a power cut there would leave (``cuts``: label, folder)."""

    root: Path
    out: Path
    files: dict[Path, bytes] = field(default_factory=dict)  # content at the last fsync
    folders: dict[Path, dict[str, bool]] = field(default_factory=dict)  # entries at the last fsync
    renames: list[tuple[Path, Path]] = field(default_factory=list)  # done, their folder not yet synced
    cuts: list[tuple[str, Path]] = field(default_factory=list)
    last: Path | None = None  # what the last fsync was of

    def __post_init__(self) -> None:
        for folder, _, names in os.walk(self.root):  # what was there before counts as on the disk
            self._sync_folder(Path(folder))
            for name in names:
                self._sync_file(Path(folder) / name)

    def _sync_file(self, path: Path) -> None:
        self.files[path] = path.read_bytes()
        self.last = path

    def _sync_folder(self, path: Path) -> None:
        for src, dst in [r for r in self.renames if r[1].parent == path]:
            self.renames.remove((src, dst))
            self._move(src, dst)
        with os.scandir(path) as entries:
            self.folders[path] = {e.name: e.is_dir(follow_symlinks=False) for e in entries}
        self.last = path

    def __call__(self, event: str, path: Path) -> None:
        if self.root not in path.parents and path != self.root:
            return
        if event == "fsync_file":
            self._sync_file(path)
        elif event == "fsync_dir":
            self._sync_folder(path)
        elif event == "replace" and self.last is not None and self.last != path:
            self.renames.append((self.last, path))  # the seam syncs the source just before renaming it
        out = self.out / f"cut-{len(self.cuts):03d}"
        self._write(self.root, out)
        self.cuts.append((f"power cut after {event} {path.relative_to(self.root)}", out))

    def _move(self, src: Path, dst: Path) -> None:
        """A rename made durable: what was synced under the old name (a folder: with everything
        in it) is now found under the new one."""
        for table in (self.files, self.folders):
            for old in [p for p in table if p == src or src in p.parents]:
                table[dst / old.relative_to(src)] = table.pop(old)  # type: ignore[attr-defined]

    def _write(self, folder: Path, out: Path) -> None:
        out.mkdir(parents=True)
        for name, is_folder in self.folders.get(folder, {}).items():
            if is_folder:
                self._write(folder / name, out / name)
            else:  # listed but never fsynced: its blocks never reached the disk
                (out / name).write_bytes(self.files.get(folder / name, b""))


UPLOAD = b"---\ntitle: Water utility breach\n---\nA water utility in Ohio reported a breach of its billing system to regulators.\n"


def test_a_power_cut_at_any_durability_point_leaves_a_whole_version_and_loses_no_change(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    for n in range(5):
        write_article(corpus, f"story-{n}", _story(n))
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=corpus, keep_versions=2)
    engine = Engine(settings, embedder=FakeEncoder())  # type: ignore[arg-type]
    engine.build()

    def live() -> tuple[str, frozenset[str]]:
        return engine.snapshot().version, frozenset(a.citation.article_id for a in engine.articles())

    served = [live()]
    cut = PowerCut(settings.data_dir, tmp_path / "cuts")
    acknowledged: dict[str, int] = {}  # change -> first cut after the call that made it returned
    durability.hooks.append(cut)
    try:
        added = engine.add_file("water.md", UPLOAD)  # /index add file:
        acknowledged["water"] = len(cut.cuts)
        engine.build(changed=[added])
        served.append(live())
        engine.remove_article("story-2")  # /index remove
        acknowledged["story-2"] = len(cut.cuts)
        engine.build(changed=[])
        served.append(live())
        engine.build(full=True)  # a whole new segment; older versions and segments pruned
        served.append(live())
    finally:
        durability.hooks.remove(cut)
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
