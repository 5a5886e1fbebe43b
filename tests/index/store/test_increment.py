"""Builds from a list of changed files: they never walk the corpus, and they serve exactly what a
full build of the same corpus serves (random edit sequences, merges, bad files, duplicates)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from index.corpus import _read as corpus_module
from index.engine import Engine
from index.errors import BuildLockedError
from index.settings import Settings
from index.store import _scan as corpus_scan
from index.store import _versions as versions
from index.store._execute import build_index
from index.store._snapshot import Snapshot
from tests.support.articles import story, write_article
from tests.support.builds import LockHolder, live_snapshot
from tests.support.fakes import FakeEncoder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    for n in range(8):
        write_article(folder, f"story-{n}", story(n))
    return folder


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=corpus, keep_versions=2, max_segments=3)


def _served(snap: Snapshot) -> dict[str, tuple[str, str, tuple[str, ...], bytes]]:
    """What a version serves, independent of how its segments are laid out."""
    out = {}
    for row in snap.live_articles():
        chunks = range(row.chunk_start, row.chunk_start + row.chunk_count)
        vectors = np.asarray(snap.chunk_vectors[row.chunk_start : row.chunk_start + row.chunk_count])
        out[row.id] = (row.content_hash, row.path, tuple(snap.chunk_text[c] for c in chunks), vectors.round(3).tobytes())
    return out


def _no_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_: Path) -> None:
        raise AssertionError("an increment from changed files walked the corpus")

    monkeypatch.setattr(corpus_module, "corpus_file_names", refuse)


def test_new_files_are_indexed_without_walking_or_reading_the_rest(
    settings: Settings, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(settings, embedder=FakeEncoder())
    new = [write_article(corpus, f"fresh-{n}", story(20 + n)) for n in range(3)]
    _no_walk(monkeypatch)
    read: list[Path] = []
    original = corpus_module.load_article
    monkeypatch.setattr("index.store._plan.load_article", lambda p, root=None: read.append(p) or original(p, root))
    encoder = FakeEncoder()
    report = build_index(settings, embedder=encoder, changed=new)
    assert sorted(p.name for p in read) == sorted(p.name for p in new)  # the 8 old files were not opened
    assert (report.added, report.changed, report.removed, report.unchanged) == (3, 0, 0, 8)
    assert report.articles == 11 and report.chunks_embedded > 0
    assert len(live_snapshot(settings).segments) == 2


def test_an_increment_serves_what_a_full_build_serves(
    settings: Settings, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random adds, rewrites, deletes, renames and broken files, each built from its changed paths;
    after every step the served articles equal a from-scratch build of a copy of the corpus."""
    rng = random.Random(5)
    build_index(settings, embedder=FakeEncoder())
    next_id = 100
    for step in range(12):
        files = sorted(corpus.glob("*.md"))
        changed: list[Path] = []
        for _ in range(rng.randint(1, 3)):
            op = rng.choice(["add", "add", "rewrite", "delete", "rename", "break", "same"])
            victim = rng.choice(files) if files else None
            if op == "add" or victim is None:
                changed.append(write_article(corpus, f"story-{next_id}", story(next_id)))
                next_id += 1
            elif op == "rewrite":
                changed.append(write_article(corpus, victim.stem, story(int(victim.stem.split("-")[1]), step + 1)))
            elif op == "delete" and victim.exists():
                victim.unlink()
                changed.append(victim)
            elif op == "rename" and victim.exists():
                target = corpus / "moved" / victim.name
                target.parent.mkdir(exist_ok=True)
                if not target.exists():
                    victim.rename(target)
                    changed += [victim, target]
            elif op == "break" and victim.exists():
                victim.write_bytes(b"\xff\xfe not text")
                changed.append(victim)
            elif op == "same" and victim.exists():
                victim.write_bytes(victim.read_bytes())
                changed.append(victim)
        with monkeypatch.context() as m:
            _no_walk(m)
            build_index(settings, embedder=FakeEncoder(), changed=changed)
        incremental = live_snapshot(settings)

        mirror = tmp_path / f"mirror-{step}"
        shutil.copytree(corpus, mirror / "corpus")
        fresh = Settings(_env_file=None, data_dir=mirror / "data", corpus_dir=mirror / "corpus")
        build_index(fresh, embedder=FakeEncoder())
        expected = {k: (h, p.replace(str(mirror / "corpus"), str(corpus)), t, v) for k, (h, p, t, v) in _served(live_snapshot(fresh)).items()}
        assert _served(incremental) == expected, f"step {step}"
        assert len(incremental.segments) <= settings.max_segments
        skipped = {name for name, _ in incremental.manifest["skipped"]}
        assert skipped == {name for name, _ in live_snapshot(fresh).manifest["skipped"]}


def test_without_a_scan_cache_the_increment_walks(settings: Settings, corpus: Path) -> None:
    from index.store import _scan as corpus_scan

    build_index(settings, embedder=FakeEncoder())
    (settings.data_dir / corpus_scan.CACHE).unlink()
    gone = corpus / "story-3.md"
    gone.unlink()  # only the cache could say which article this file held
    report = build_index(settings, embedder=FakeEncoder(), changed=[gone])
    assert report.removed == 1 and "story-3" not in live_snapshot(settings).by_id


def test_a_new_file_reusing_a_live_id_is_left_to_the_walk(settings: Settings, corpus: Path) -> None:
    build_index(settings, embedder=FakeEncoder())
    twin = write_article(corpus / "zz-later", "story-2", story(50))  # sorts after the original
    report = build_index(settings, embedder=FakeEncoder(), changed=[twin])
    assert any("duplicate article id 'story-2'" in reason for _, reason in report.errors)
    assert live_snapshot(settings).by_id["story-2"].path == str(corpus / "story-2.md")


def test_a_feed_poll_builds_from_the_files_it_wrote(
    settings: Settings, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine hands the poll's new files to the build; a poll after a crashed one walks."""
    from index.feeds._poll import FeedReport, NewArticle, PollReport

    engine = Engine(settings, embedder=FakeEncoder())  # type: ignore[arg-type]
    engine.build()
    seen: list[object] = []
    original = engine.build

    def spy(**kwargs: object) -> object:
        seen.append(kwargs.get("changed"))
        return original(**kwargs)  # type: ignore[arg-type]

    def poll(*_: object, **__: object) -> PollReport:
        path = write_article(corpus / "feeds", "wire-story", story(77))
        report = PollReport(started=__import__("datetime").datetime.now())
        report.feeds.append(FeedReport(feed="wire", new=[NewArticle(path, "t", "", "wire", None, False)]))
        return report

    walks: list[Path] = []
    scan = corpus_scan.scan_corpus
    monkeypatch.setattr(engine, "build", spy)
    monkeypatch.setattr("index.feeds._service.poll_due", poll)
    monkeypatch.setattr(corpus_scan, "scan_corpus", lambda *args: walks.append(args[0]) or scan(*args))
    result = engine.feeds.poll()
    assert seen == [[corpus / "feeds" / "wire-story.md"]] and walks == []
    assert result.build is not None and result.build.added == 1
    assert versions.owed(settings.data_dir).records == ()  # settled by the build
    versions.owe(settings.data_dir, None)  # as a poll killed before its build leaves it
    engine.feeds.poll()
    assert walks == [corpus] and versions.owed(settings.data_dir).records == ()
    (settings.data_dir / "feeds.build-owed").touch()  # as an older version's killed poll left it
    engine.feeds.poll()
    assert walks == [corpus, corpus] and not (settings.data_dir / "feeds.build-owed").exists()


def test_a_new_segment_that_cannot_find_its_own_chunks_is_never_published(
    settings: Settings, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index.errors import BuildError
    from index.store._ann import VectorSet

    build_index(settings, embedder=FakeEncoder())
    before = versions.current_version(settings.data_dir)
    new = write_article(corpus, "fresh", story(30))
    nothing = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
    monkeypatch.setattr(VectorSet, "search", lambda self, query, k: nothing)
    with pytest.raises(BuildError, match="does not find itself"):
        build_index(settings, embedder=FakeEncoder(), changed=[new])
    assert versions.current_version(settings.data_dir) == before


class FailingEncoder(FakeEncoder):
    """Fails while embedding when ``fail`` is set (a build that crashes after reading what is owed)."""

    fail = False

    def encode_chunks(self, texts, spans, progress=None):  # type: ignore[no-untyped-def]
        if self.fail:
            raise RuntimeError("simulated crash while embedding")
        return super().encode_chunks(texts, spans, progress)


UPLOAD = b"---\ntitle: Water utility breach\n---\nA water utility in Ohio reported a breach of its billing system to regulators.\n"


@pytest.mark.parametrize("refused_by", ["the lock of another process", "a crash"])
def test_removals_and_uploads_whose_build_is_refused_are_indexed_by_the_next_increment(
    settings: Settings, corpus: Path, refused_by: str
) -> None:
    encoder = FailingEncoder()
    engine = Engine(settings, embedder=encoder)  # type: ignore[arg-type]
    engine.build()
    assert "story-3" in {h.citation.article_id for h in engine.search("Report 3 district 3 group 21", k=3)}

    def change_then_build() -> None:
        engine.corpus.remove("story-3")  # the bot's /index remove, then its reindex (a walk)
        with pytest.raises(BuildLockedError if refused_by.startswith("the lock") else RuntimeError) as refused:
            engine.build()
        engine.corpus.add_file("water.md", UPLOAD)  # /index add file:, then an increment of what it owes
        encoder.fail = refused_by == "a crash"
        with pytest.raises(BuildLockedError if refused_by.startswith("the lock") else RuntimeError) as again:
            engine.build(changed=[])
        encoder.fail = False
        if refused_by.startswith("the lock"):
            assert "change is saved" in str(refused.value) and "change is saved" in str(again.value)

    if refused_by.startswith("the lock"):
        with LockHolder(settings.data_dir):
            change_then_build()
    else:
        def crash(*args: object) -> None:
            raise RuntimeError("simulated crash at the switch")

        with pytest.MonkeyPatch.context() as patch:  # the removal embeds nothing: crash at the switch
            patch.setattr(versions, "publish", crash)
            change_then_build()
    assert "story-3" in {a.citation.article_id for a in engine.articles()}  # nothing was indexed yet
    assert len(versions.owed(settings.data_dir).records) == 2

    # the next build is an increment for an unrelated file (a feed's new article)
    fresh = write_article(corpus, "fresh", story(40))
    report = engine.build(changed=[fresh])
    ids = {a.citation.article_id for a in engine.articles()}
    assert "story-3" not in ids and {"water", "fresh"} <= ids
    assert (report.added, report.removed) == (2, 1)
    assert "story-3" not in {h.citation.article_id for h in engine.search("Report 3 district 3 group 21", k=3)}
    assert engine.search("water utility Ohio billing breach", k=1)[0].citation.article_id == "water"
    assert versions.owed(settings.data_dir).records == ()  # settled once the version was live
