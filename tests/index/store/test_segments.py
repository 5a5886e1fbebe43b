"""Segments: an increment writes only what changed, old rows retire, small segments merge, and a
large index (memory-mapped vectors, IVF, text from SQLite) answers like a small one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from index.engine import Engine
from index.errors import IndexCorruptError
from index.settings import Settings
from index.store import _snapshot as store
from index.store import _versions as versions
from index.store._columns import StackedRows
from index.store._execute import build_index
from index.store._snapshot import Snapshot, segment_dirs
from tests.support.articles import story, write_article
from tests.support.builds import live_snapshot
from tests.support.fakes import FakeEncoder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    for n in range(6):
        write_article(folder, f"story-{n}", story(n))
    return folder


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=corpus, keep_versions=2)


def _stamps(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_an_increment_writes_one_new_segment_and_leaves_the_old_one_untouched(
    settings: Settings, corpus: Path
) -> None:
    build_index(settings, embedder=FakeEncoder())
    first = live_snapshot(settings)
    (old_segment,) = segment_dirs(first.directory)
    before = _stamps(old_segment)

    write_article(corpus, "story-new", story(40))
    report = build_index(settings, embedder=FakeEncoder())
    snap = live_snapshot(settings)
    assert (report.added, report.unchanged) == (1, 6)
    assert segment_dirs(snap.directory)[0].name == old_segment.name
    assert _stamps(old_segment) == before  # not one byte of the old segment was rewritten
    assert [s.counts["articles"] for s in snap.segments] == [6, 1]
    assert sorted(snap.by_id) == sorted([f"story-{n}" for n in range(6)] + ["story-new"])
    row = snap.by_id["story-new"]
    assert snap.chunk_text[row.chunk_start].startswith("Report 40")
    assert snap.manifest["counts"]["articles"] == 7


def test_a_changed_or_removed_article_is_retired_and_never_served(settings: Settings, corpus: Path) -> None:
    engine = Engine(settings, embedder=FakeEncoder())  # type: ignore[arg-type]
    engine.build()
    write_article(corpus, "story-2", "Report 2 now says the election office found no breach at all.")
    (corpus / "story-3.md").unlink()
    report = engine.build()
    assert (report.changed, report.removed) == (1, 1)
    snap = engine.snapshot()
    assert snap.manifest["dead"] == {snap.segments[0].name: [2, 3]}
    assert "story-3" not in snap.by_id and snap.by_id["story-2"].idx >= 6
    assert snap.manifest["counts"]["articles"] == 5
    hits = engine.search("Which election office found no breach?", k=10)
    assert [h.article_id for h in hits].count("story-2") == 1
    assert "story-3" not in {h.article_id for h in engine.search("satellite incident district 3", k=10)}
    assert {h.citation.article_id for h in engine.articles()} == {"story-0", "story-1", "story-2", "story-4", "story-5"}
    assert engine.stats().articles == 5


def test_segments_merge_when_there_are_too_many(settings: Settings, corpus: Path) -> None:
    settings = settings.with_(max_segments=3)
    build_index(settings, embedder=FakeEncoder())
    base = segment_dirs(live_snapshot(settings).directory)[0]
    first_vectors: dict[str, np.ndarray] = {}
    for n in range(6, 11):
        write_article(corpus, f"story-{n}", story(n))
        build_index(settings, embedder=FakeEncoder())
        snap = live_snapshot(settings)
        assert len(snap.segments) <= 3
        row = snap.by_id[f"story-{n}"]
        first_vectors[row.id] = snap.chunk_vectors[row.chunk_start : row.chunk_start + row.chunk_count]
    snap = live_snapshot(settings)
    assert segment_dirs(snap.directory)[0] == base  # the big segment is never the one copied
    assert sorted(snap.by_id) == sorted(f"story-{n}" for n in range(11))
    for article_id, vectors in first_vectors.items():  # merged rows keep the vectors they were built with
        row = snap.by_id[article_id]
        np.testing.assert_array_equal(snap.chunk_vectors[row.chunk_start : row.chunk_start + row.chunk_count], vectors)
    on_disk = {p.name for p in versions.segments_root(settings.data_dir).iterdir()}
    named = {s.name for v in versions.versions_dir(settings.data_dir).glob("v*") for s in Snapshot(v).segments}
    assert on_disk == named  # merged-away segments are deleted once no kept version names them


def test_a_mostly_retired_segment_is_rewritten(settings: Settings, corpus: Path) -> None:
    build_index(settings, embedder=FakeEncoder())
    old = segment_dirs(live_snapshot(settings).directory)[0].name
    for n in range(4):
        (corpus / f"story-{n}.md").unlink()
    build_index(settings, embedder=FakeEncoder())
    snap = live_snapshot(settings)
    assert old not in [s.name for s in snap.segments] and sorted(snap.by_id) == ["story-4", "story-5"]
    assert not snap.manifest["dead"]


def test_a_large_index_serves_the_same_answers_from_disk(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Memory-mapped float16 rows, an IVF index over a segment and text read from SQLite on
    demand must rank as the in-RAM layout does."""
    small = Engine(settings, embedder=FakeEncoder())  # type: ignore[arg-type]
    small.build()
    big_settings = settings.with_(data_dir=tmp_path / "big", memory_rows=0, ann_min_rows=2)
    monkeypatch.setattr(store, "PRELOAD_ROWS", 0)
    big = Engine(big_settings, embedder=FakeEncoder())  # type: ignore[arg-type]
    big.build()
    snap = big.snapshot()
    assert isinstance(snap.chunk_vectors, StackedRows) and snap.segments[0].chunks.mapped
    assert snap.segments[0].chunks.index is not None  # the approximate index was built and loaded
    assert snap.chunk_text._all is None and snap.sentence_text._all is None  # text is read on demand
    for question in ("Which group attacked the hospital?", "water incident district 8", "Who restored the grid?"):
        assert [h.article_id for h in big.search(question, k=3)] == [h.article_id for h in small.search(question, k=3)]
        assert big.ask(question).text == small.ask(question).text


def test_a_tampered_version_manifest_is_refused(settings: Settings) -> None:
    build_index(settings, embedder=FakeEncoder())
    folder = live_snapshot(settings).directory
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["dead"] = {manifest["segments"][0]["name"]: [0]}  # retire a row behind the digest's back
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="digest"):
        Snapshot(folder)


def test_a_swapped_segment_is_refused(settings: Settings, corpus: Path) -> None:
    build_index(settings, embedder=FakeEncoder())
    first = live_snapshot(settings).directory
    write_article(corpus, "story-0", "Report zero was rewritten entirely.")
    build_index(settings, embedder=FakeEncoder(), full=True)
    second = live_snapshot(settings).directory
    (a,), (b,) = segment_dirs(first), segment_dirs(second)
    (a / "manifest.json").write_bytes((b / "manifest.json").read_bytes())
    with pytest.raises(IndexCorruptError):
        Snapshot(first)


def test_an_orphaned_segment_from_a_killed_build_is_cleaned_up(settings: Settings, corpus: Path) -> None:
    build_index(settings, embedder=FakeEncoder())
    orphan = versions.segments_root(settings.data_dir) / "s999999-killed"
    partial = versions.segments_root(settings.data_dir) / ".tmp-1-2"
    for folder in (orphan, partial):
        folder.mkdir()
        (folder / "store.sqlite").write_bytes(b"half")
    write_article(corpus, "story-new", story(50))
    build_index(settings, embedder=FakeEncoder())
    assert not orphan.exists() and not partial.exists()
    assert "story-new" in live_snapshot(settings).by_id


def test_stacked_rows_gather_across_segments(tmp_path: Path) -> None:
    from index.store._ann import VectorSet

    rng = np.random.default_rng(3)
    parts, sets = [rng.standard_normal((n, 8)).astype(np.float32) for n in (5, 0, 7)], []
    for i, part in enumerate(parts):
        VectorSet.write(tmp_path, f"p{i}", part, ann_min=10**9)
        sets.append(VectorSet.open(tmp_path, f"p{i}", in_memory_max=0))
    rows = StackedRows(sets, [0, 5, 5, 12], 8)
    whole = np.vstack(parts)
    pick = np.array([11, 0, 4, 5, 6, 3])
    np.testing.assert_allclose(rows[pick], whole[pick], atol=1e-2)
    np.testing.assert_allclose(rows[3:9], whole[3:9], atol=1e-2)
    np.testing.assert_allclose(rows[7], whole[7], atol=1e-2)
    assert rows.shape == (12, 8) and rows[np.zeros(0, dtype=np.int64)].shape == (0, 8)


def _age(corpus: Path, seconds: float = 60) -> None:
    """Files written long enough ago that their modification times can be trusted."""
    for path in corpus.glob("*.md"):
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - int(seconds * 1e9)))


def test_an_increment_reads_only_new_and_changed_files(settings: Settings, corpus: Path) -> None:
    from index.store import _scan as corpus_scan

    _age(corpus)
    build_index(settings, embedder=FakeEncoder())
    live = live_snapshot(settings)
    assert corpus_scan.scan_corpus(corpus, settings.data_dir, live).read == 0
    write_article(corpus, "story-new", story(60))
    write_article(corpus, "story-1", "Report 1 was corrected: the pipeline was never shut.")
    scan = corpus_scan.scan_corpus(corpus, settings.data_dir, live)
    assert scan.read == 2 and len(scan.articles) == 7
    assert sum(corpus_scan.is_stub(a) for a in scan.articles) == 5
    report = build_index(settings, embedder=FakeEncoder())
    assert (report.added, report.changed, report.unchanged) == (1, 1, 5)
    assert "corrected" in live_snapshot(settings).chunk_text[live_snapshot(settings).by_id["story-1"].chunk_start]


def test_a_file_rewritten_within_the_same_clock_tick_is_still_read(settings: Settings, corpus: Path) -> None:
    """Same size, and a modification time the cache may have recorded already: never trusted."""
    from index.store import _scan as corpus_scan

    build_index(settings, embedder=FakeEncoder())
    path = corpus / "story-4.md"
    before = path.stat()
    path.write_text(path.read_text().replace("Report 4", "Rep0rt 4"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    scan = corpus_scan.scan_corpus(corpus, settings.data_dir, live_snapshot(settings))
    assert scan.read == 6  # everything was written within the racy window of the last scan
    report = build_index(settings, embedder=FakeEncoder())
    assert report.changed == 1


def test_a_damaged_scan_cache_means_reading_everything(settings: Settings, corpus: Path) -> None:
    from index.store import _scan as corpus_scan

    _age(corpus)
    build_index(settings, embedder=FakeEncoder())
    (settings.data_dir / corpus_scan.CACHE).write_bytes(b"not a database")
    assert corpus_scan.scan_corpus(corpus, settings.data_dir, live_snapshot(settings)).read == 6
    assert build_index(settings, embedder=FakeEncoder()).unchanged == 6


def test_a_changed_model_re_reads_files_it_skipped(settings: Settings, corpus: Path) -> None:
    _age(corpus)
    build_index(settings, embedder=FakeEncoder())
    write_article(corpus, "story-new", story(70))
    report = build_index(settings, embedder=FakeEncoder(dim=128))  # another model underneath
    assert (report.added, report.unchanged) == (1, 0) and report.chunks_embedded == report.chunks_total
    assert live_snapshot(settings).dim == 128


def test_sentence_votes_above_the_scan_limit_score_the_candidates_own_sentences(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(settings, embedder=FakeEncoder())  # type: ignore[arg-type]
    engine.build()
    snap = engine.snapshot()
    query = engine.asker.query("Which investigators named group 35?")
    everything = snap.best_sentence_per_article(query.vector)
    monkeypatch.setattr(store, "SENTENCE_SCAN_MAX", 0)
    only = snap.best_sentence_per_article(query.vector, [1, 5])
    assert np.allclose(only[[1, 5]], everything[[1, 5]])  # the candidates get their exact best sentence
    assert (np.delete(only, [1, 5]) == -1).all()  # nobody else is scored
    assert engine.search("Which investigators named group 35?", k=1)[0].article_id == "story-5"


def test_words_in_too_many_chunks_are_not_looked_up(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted the way FTS5 matches (titles included): "report" is in every title here."""
    from index.store import _idf as idf

    engine = Engine(settings, embedder=FakeEncoder())  # type: ignore[arg-type]
    engine.build()
    snap = engine.snapshot()
    assert snap.fts_rows('"report"', 100) == len(snap.chunk_alive) and snap.fts_rows('"report"', 3) == 3
    monkeypatch.setattr(idf, "FTS_MAX_ROWS", 3)
    kept = idf.selective_terms(snap, ["report", "hospital", "district"])
    assert "report" not in kept and "hospital" in kept
