"""Builds: incremental, atomic, locked, verified; crash and corruption leave the live index serving."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from index.engine import Engine
from index.errors import BuildError, BuildLockedError, IndexCorruptError, IndexMissingError
from index.settings import Settings
from index.store import _versions as versions
from index.store._execute import build_index
from index.store._snapshot import Snapshot, segment_dirs
from tests.support import REPO
from tests.support.articles import STORIES, write_article
from tests.support.fakes import CountingEncoder, FakeEncoder


@pytest.fixture
def embedder() -> FakeEncoder:
    """Builds are about storage, not meaning: the fast deterministic model is enough here."""
    return FakeEncoder()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    for name, body in STORIES.items():
        write_article(folder, name, body)
    return folder


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=corpus)


def test_full_build_then_incremental(settings: Settings, corpus: Path, embedder: object) -> None:
    enc = CountingEncoder(embedder)
    first = build_index(settings, embedder=enc)
    assert (first.articles, first.added, first.unchanged) == (3, 3, 0)
    assert enc.chunks == first.chunks_embedded > 0

    enc.chunks = 0
    again = build_index(settings, embedder=enc)
    assert enc.chunks == 0 and again.unchanged == 3 and again.chunks_total == first.chunks_total

    write_article(corpus, "meatpacker", STORIES["meatpacker"] + " The FBI named the REvil group.")
    (corpus / "directive.md").unlink()
    write_article(corpus, "newcomer", "A new law requires reporting of ransom payments within 24 hours.")
    third = build_index(settings, embedder=enc)
    assert (third.added, third.changed, third.removed, third.unchanged) == (1, 1, 1, 1)
    snap = Snapshot(versions.versions_dir(settings.data_dir) / third.version)
    assert sorted(snap.by_id) == ["meatpacker", "newcomer", "pipeline"]
    # copied vectors are identical to freshly computed ones
    old = Snapshot(versions.versions_dir(settings.data_dir) / first.version)
    a, b = old.by_id["pipeline"], snap.by_id["pipeline"]
    np.testing.assert_array_equal(
        old.chunk_vectors[a.chunk_start : a.chunk_start + a.chunk_count],
        snap.chunk_vectors[b.chunk_start : b.chunk_start + b.chunk_count],
    )
    assert enc.chunks == snap.by_id["meatpacker"].chunk_count + snap.by_id["newcomer"].chunk_count


def test_full_flag_re_embeds_everything(settings: Settings, embedder: object) -> None:
    enc = CountingEncoder(embedder)
    build_index(settings, embedder=enc)
    enc.chunks = 0
    report = build_index(settings, embedder=enc, full=True)
    assert enc.chunks == report.chunks_total and report.unchanged == 0


def test_failure_half_way_keeps_the_live_version(settings: Settings, corpus: Path, embedder: object) -> None:
    live = build_index(settings, embedder=embedder).version
    engine = Engine(settings, embedder=embedder)  # type: ignore[arg-type]
    before = engine.ask("How much did the pipeline operator pay?")
    write_article(corpus, "pipeline", STORIES["pipeline"] + " Changed.")
    write_article(corpus, "extra", "Another story about a water utility breach in Florida last spring.")
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_index(settings, embedder=CountingEncoder(embedder, fail_after=1))
    assert versions.current_version(settings.data_dir) == live
    assert not list(versions.versions_dir(settings.data_dir).glob(".tmp-*"))
    assert engine.ask("How much did the pipeline operator pay?").sources == before.sources


def test_empty_corpus_fails_and_keeps_serving(settings: Settings, corpus: Path, embedder: object) -> None:
    live = build_index(settings, embedder=embedder).version
    for path in corpus.iterdir():
        path.unlink()
    with pytest.raises(BuildError, match="no readable articles"):
        build_index(settings, embedder=embedder)
    assert versions.current_version(settings.data_dir) == live


def test_second_build_is_refused_while_one_runs(settings: Settings, embedder: object) -> None:
    seen: list[str] = []

    class Reentrant(CountingEncoder):
        def encode_chunks(self, texts, spans, progress=None):  # type: ignore[no-untyped-def]
            with pytest.raises(BuildLockedError, match="already running") as info:
                build_index(settings, embedder=embedder)
            seen.append(str(info.value))
            return super().encode_chunks(texts, spans, progress)

    build_index(settings, embedder=Reentrant(embedder))
    assert seen and "embedding" in seen[0]


def test_killed_build_leaves_previous_version(settings: Settings, corpus: Path, embedder: object) -> None:
    live = build_index(settings, embedder=embedder).version
    write_article(corpus, "late", "A late story about a new cyber rule for banks and insurers.")
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        from index.store._execute import build_index
        from index.settings import Settings
        from tests.support.fakes import FakeEncoder
        class Killer:
            def __init__(self):
                self.inner = FakeEncoder(); self.name = self.inner.name; self.dim = self.inner.dim
                self.signature = self.inner.signature
            def encode_chunks(self, texts, spans, progress=None):
                os.kill(os.getpid(), signal.SIGKILL)
        build_index(Settings(_env_file=None, data_dir={str(settings.data_dir)!r}, corpus_dir={str(corpus)!r}), embedder=Killer())
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert versions.current_version(settings.data_dir) == live
    assert list(versions.versions_dir(settings.data_dir).glob(".tmp-*"))  # the debris of the killed build
    report = build_index(settings, embedder=embedder)  # the lock died with the process
    assert report.added == 1
    assert not list(versions.versions_dir(settings.data_dir).glob(".tmp-*"))


def test_missing_and_corrupt_indexes_are_reported(settings: Settings, embedder: object) -> None:
    engine = Engine(settings, embedder=embedder)  # type: ignore[arg-type]
    with pytest.raises(IndexMissingError, match="policybot build"):
        engine.ask("What did the agency order?")
    version = build_index(settings, embedder=embedder).version
    folder = versions.versions_dir(settings.data_dir) / version
    assert engine.search("What did the agency order?")[0].article_id == "directive"

    segment = segment_dirs(folder)[0]
    vectors = segment / "sentences.f16.npy"
    data = bytearray(vectors.read_bytes())
    data[-3] ^= 0xFF
    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="checksum"):
        Engine(settings, embedder=embedder).ask("What did the agency order?")  # type: ignore[arg-type]
    assert engine.search("What did the agency order?")[0].article_id == "directive"  # still serving

    (segment / "store.sqlite").unlink()
    with pytest.raises(IndexCorruptError, match="missing"):
        Snapshot(folder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match="damaged manifest"):
        Snapshot(folder)


def test_corrupt_live_version_is_rebuilt_from_scratch(settings: Settings, embedder: object) -> None:
    version = build_index(settings, embedder=embedder).version
    (segment_dirs(versions.versions_dir(settings.data_dir) / version)[0] / "chunks.f16.npy").write_bytes(b"garbage")
    enc = CountingEncoder(embedder)
    report = build_index(settings, embedder=enc)
    assert report.added == 3 and enc.chunks == report.chunks_total


def test_engine_switches_to_a_new_version_without_restart(
    settings: Settings, corpus: Path, embedder: object
) -> None:
    build_index(settings, embedder=embedder)
    engine = Engine(settings, embedder=embedder)  # type: ignore[arg-type]
    first = engine.stats().version
    assert engine.stats().articles == 3
    write_article(corpus, "fresh", "Officials in Lisbon adopted a cyber resilience plan for hospitals.")
    other = Engine(settings, embedder=embedder)  # type: ignore[arg-type]
    other.build()  # another engine (as another process would) publishes a new version
    assert engine.stats().version != first
    assert engine.stats().articles == 4
    assert any(s.article_id == "fresh" for s in engine.ask("Where was the hospital cyber plan adopted?").sources)


def test_old_versions_are_pruned(settings: Settings, corpus: Path, embedder: object) -> None:
    for i in range(5):
        write_article(corpus, "counter", f"Revision {i} of a story about a ransomware gang's new leak site.")
        build_index(settings, embedder=embedder)
    names = [p.name for p in versions.versions_dir(settings.data_dir).iterdir()]
    assert len(names) == settings.keep_versions
    assert versions.current_version(settings.data_dir) in names


def test_progress_is_reported(settings: Settings, embedder: object) -> None:
    stages: list[tuple[str, int, int]] = []
    build_index(settings, embedder=embedder, progress=lambda p: stages.append((p.stage, p.done, p.total)))
    assert [s for s in dict.fromkeys(s for s, _, _ in stages)] == ["reading", "embedding", "writing", "verifying"]
    embedding = [(d, t) for s, d, t in stages if s == "embedding"]
    assert embedding[-1][0] == embedding[-1][1] > 0
    assert not (settings.data_dir / versions.PROGRESS).exists()


def test_unreadable_file_is_reported_by_name(settings: Settings, corpus: Path, embedder: object) -> None:
    (corpus / "broken.md").write_text("---\ntitle: [oops\n---\nA body long enough to be an article.\n")
    report = build_index(settings, embedder=embedder)
    assert report.articles == 3
    assert report.errors and report.errors[0][0] == "broken.md"
    assert os.path.exists(settings.data_dir / versions.CURRENT)
