"""The store contract on both backends (files, PostgreSQL), and what only a shared database adds:
engines with separate data folders serving one version, all-or-nothing publishing, verified
downloads, a builder taking over on an empty machine."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from index.engine import Engine
from index.errors import BuildError, DatabaseError, IndexCorruptError
from index.settings import Settings
from index.store import _pg_publish
from index.store import _versions as versions
from index.store._execute import build_index
from index.store._home import open_home
from index.store._snapshot import Snapshot, segment_dirs
from tests.support import REPO
from tests.support.articles import STORIES, write_article
from tests.support.fakes import CountingEncoder, FakeEncoder

QUESTION = "How much did the pipeline operator pay?"
Place = Callable[[str], Settings]
"""Settings for one machine: its own data folder (and corpus folder ``corpus-<name>``)."""


@pytest.fixture
def embedder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture(params=["files", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    """Machines on the parametrized backend; on files they all share ``corpus`` (one volume)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return _machines(tmp_path, url)


@pytest.fixture
def pg_place(postgres_url: str, tmp_path: Path) -> Place:
    return _machines(tmp_path, postgres_url)


def _machines(tmp_path: Path, url: str | None) -> Place:
    def make(name: str) -> Settings:
        corpus = tmp_path / (f"corpus-{name}" if url else "corpus")
        corpus.mkdir(parents=True, exist_ok=True)
        return Settings(_env_file=None, data_dir=tmp_path / f"data-{name}", corpus_dir=corpus, database_url=url)

    return make


def _stories(settings: Settings) -> None:
    for name, body in STORIES.items():
        write_article(settings.corpus_dir, name, body)


def _live(settings: Settings) -> str | None:
    home = open_home(settings)
    try:
        return home.live()
    finally:
        home.close()


def _url(settings: Settings) -> str:
    assert settings.database_url is not None
    return settings.database_url.get_secret_value()


def _sql(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def _segments_of(url: str, version: str) -> set[str]:
    query = "SELECT jsonb_array_elements(manifest->'segments')->>'name' FROM pb_version WHERE name = %s"
    return {r[0] for r in _sql(url, query, (version,))}


def _flip_a_byte(url: str, old: str, new: str) -> str:
    """Damage, in the database, the sentence vectors of the one segment version ``new`` adds to ``old``;
    returns that segment's name."""
    (segment,) = _segments_of(url, new) - _segments_of(url, old)
    _sql(url, "UPDATE pb_segment_file SET bytes = overlay(bytes placing '\\xff'::bytea from 200) "
         "WHERE segment = %s AND file LIKE 'sentences%%'", (segment,))
    return segment


# ---- the contract, on both backends ---------------------------------------------------------------
def test_build_ask_increment_remove_and_prune(place: Place, embedder: FakeEncoder) -> None:
    builder = place("a")
    _stories(builder)
    first = build_index(builder, embedder=embedder)
    assert (first.articles, first.added) == (3, 3)
    engine = Engine(builder, embedder=embedder)  # type: ignore[arg-type]
    answer = engine.ask(QUESTION)
    assert answer.sources[0].article_id == "pipeline"
    assert engine.stats().version == first.version == _live(builder)

    counting = CountingEncoder(embedder)
    added = write_article(builder.corpus_dir, "newcomer", "A new law requires reporting of ransom payments within 24 hours.")
    second = build_index(builder, embedder=counting, changed=[added])
    assert (second.added, second.unchanged, second.articles) == (1, 3, 4)
    assert counting.chunks == second.chunks_embedded  # only the new article was embedded
    assert engine.stats().version == second.version

    gone = builder.corpus_dir / "directive.md"
    gone.unlink()
    third = build_index(builder, embedder=embedder, changed=[gone])
    assert (third.removed, third.articles) == (1, 3)
    assert "directive" not in {a.citation.article_id for a in engine.articles()}

    for i in range(4):
        write_article(builder.corpus_dir, "counter", f"Revision {i} of a story about a ransomware gang's leak site.")
        build_index(builder, embedder=embedder)
    local = sorted(p.name for p in versions.versions_dir(builder.data_dir).glob("v*"))
    assert len(local) == builder.keep_versions and _live(builder) in local
    if builder.database_url is not None:
        url = _url(builder)
        assert [r[0] for r in _sql(url, "SELECT name FROM pb_version ORDER BY name")] == local
        named = _sql(url, "SELECT DISTINCT jsonb_array_elements(manifest->'segments')->>'name' FROM pb_version")
        assert {r[0] for r in _sql(url, "SELECT name FROM pb_segment")} == {r[0] for r in named}


def test_both_backends_give_the_same_answer(tmp_path: Path, postgres_url: str, embedder: FakeEncoder) -> None:
    answers = []
    for machine in (_machines(tmp_path / "f", None)("a"), _machines(tmp_path / "p", postgres_url)("a")):
        _stories(machine)
        build_index(machine, embedder=embedder)
        answer = Engine(machine, embedder=embedder).ask(QUESTION)  # type: ignore[arg-type]
        answers.append((answer.text, [(s.article_id, s.quote) for s in answer.sources]))
    assert answers[0] == answers[1]


def test_a_corrupt_new_version_is_refused_and_the_live_one_keeps_serving(
    place: Place, embedder: FakeEncoder, caplog: pytest.LogCaptureFixture
) -> None:
    builder = place("a")
    pg = builder.database_url is not None
    reader = place("b") if pg else builder  # on files, readers share the builder's folder
    _stories(builder)
    first = build_index(builder, embedder=embedder)
    engine = Engine(reader, embedder=embedder)  # type: ignore[arg-type]
    before = engine.ask(QUESTION)
    write_article(builder.corpus_dir, "fresh", "Officials in Lisbon adopted a cyber resilience plan for hospitals.")
    second = build_index(builder, embedder=embedder)
    if pg:  # the bytes in the database
        _flip_a_byte(_url(builder), first.version, second.version)
    else:  # the bytes on the shared volume
        (folder,) = set(segment_dirs(versions.versions_dir(builder.data_dir) / second.version)) - set(
            segment_dirs(versions.versions_dir(builder.data_dir) / first.version))
        (vectors,) = folder.glob("sentences*")
        data = bytearray(vectors.read_bytes())
        data[-3] ^= 0xFF
        vectors.write_bytes(bytes(data))
    assert engine.stats().version == first.version  # still serving
    assert engine.ask(QUESTION).sources == before.sources
    assert "still serving" in caplog.text and ("checksum" in caplog.text or "refused" in caplog.text)


# ---- what the database adds ---------------------------------------------------------------------
def test_engines_with_separate_folders_serve_one_version(pg_place: Place, embedder: FakeEncoder) -> None:
    builder, reader = pg_place("builder"), pg_place("reader")
    _stories(builder)
    first = build_index(builder, embedder=embedder)
    engine_a = Engine(builder, embedder=embedder)  # type: ignore[arg-type]
    engine_b = Engine(reader, embedder=embedder)  # type: ignore[arg-type]
    a, b = engine_a.ask(QUESTION), engine_b.ask(QUESTION)
    assert engine_b.stats().version == engine_a.stats().version == first.version
    assert (a.text, a.sources) == (b.text, b.sources)
    assert (reader.data_dir / "versions" / first.version).is_dir()  # fetched into the reader's cache
    assert not list(reader.corpus_dir.iterdir())  # a reader needs no corpus

    write_article(builder.corpus_dir, "fresh", "Officials in Lisbon adopted a cyber resilience plan for hospitals.")
    second = build_index(builder, embedder=embedder)
    assert engine_b.stats().version == second.version  # followed pb_live without a restart
    assert any(s.article_id == "fresh" for s in engine_b.ask("Where was the hospital cyber plan adopted?").sources)

    for i in range(4):  # the reader's cache keeps only what the database keeps
        write_article(builder.corpus_dir, "counter", f"Revision {i} of a story about a ransomware gang's leak site.")
        built = build_index(builder, embedder=embedder)
        assert engine_b.stats().version == built.version
    cached = {p.name for p in versions.versions_dir(reader.data_dir).glob("v*")}
    assert len(cached) <= reader.keep_versions
    assert cached <= {r[0] for r in _sql(_url(reader), "SELECT name FROM pb_version")}
    named = {s.name for v in versions.versions_dir(reader.data_dir).glob("v*") for s in Snapshot(v).segments}
    assert {p.name for p in versions.segments_root(reader.data_dir).iterdir()} == named


def test_corrupt_download_is_refused_and_the_live_version_keeps_serving(
    pg_place: Place, embedder: FakeEncoder, caplog: pytest.LogCaptureFixture
) -> None:
    builder, reader = pg_place("builder"), pg_place("reader")
    url = _url(builder)
    _stories(builder)
    first = build_index(builder, embedder=embedder)
    engine = Engine(reader, embedder=embedder)  # type: ignore[arg-type]
    before = engine.ask(QUESTION)

    write_article(builder.corpus_dir, "fresh", "Officials in Lisbon adopted a cyber resilience plan for hospitals.")
    second = build_index(builder, embedder=embedder)
    new_segment = _flip_a_byte(url, first.version, second.version)

    assert engine.stats().version == first.version  # still serving
    assert engine.ask(QUESTION).sources == before.sources
    assert "download of index segment" in caplog.text and "refused" in caplog.text
    assert not (reader.data_dir / "segments" / new_segment).exists()
    assert not list((reader.data_dir / "segments").glob(".tmp-*"))
    with pytest.raises(IndexCorruptError, match="refused"):
        Engine(pg_place("newcomer"), embedder=embedder).ask(QUESTION)  # type: ignore[arg-type]


def test_interrupted_publish_leaves_the_old_version_live(
    pg_place: Place, embedder: FakeEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    builder = pg_place("builder")
    url = _url(builder)
    _stories(builder)
    first = build_index(builder, embedder=embedder)
    segments_before = _sql(url, "SELECT name FROM pb_segment ORDER BY name")
    engine = Engine(pg_place("reader"), embedder=embedder)  # type: ignore[arg-type]
    engine.ask(QUESTION)

    original = _pg_publish.set_live

    def killed_before_the_pointer(conn: Any, name: str) -> None:
        # the uploads are done: the builder's session dies before the pointer moves
        _sql(url, "SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        original(conn, name)

    monkeypatch.setattr(_pg_publish, "set_live", killed_before_the_pointer)
    write_article(builder.corpus_dir, "fresh", "Officials in Lisbon adopted a cyber resilience plan for hospitals.")
    with pytest.raises(BuildError, match="not published"):
        build_index(builder, embedder=embedder)
    assert _live(builder) == first.version
    assert [r[0] for r in _sql(url, "SELECT name FROM pb_version")] == [first.version]
    assert _sql(url, "SELECT name FROM pb_segment ORDER BY name") == segments_before  # the uploads rolled back
    assert engine.stats().version == first.version

    monkeypatch.setattr(_pg_publish, "set_live", original)
    again = build_index(builder, embedder=embedder)
    assert again.added == 1 and _live(builder) == again.version == engine.stats().version


def test_a_builder_on_an_empty_machine_builds_an_increment_from_the_live_version(
    pg_place: Place, embedder: FakeEncoder
) -> None:
    first_machine = pg_place("old")
    _stories(first_machine)
    first = build_index(first_machine, embedder=embedder)

    takeover = pg_place("new")  # empty data folder, empty corpus folder
    write_article(takeover.corpus_dir, "fresh", "Officials in Lisbon adopted a cyber resilience plan for hospitals.")
    counting = CountingEncoder(embedder)
    report = build_index(takeover, embedder=counting)
    assert (report.added, report.unchanged, report.articles) == (1, 3, 4)
    assert counting.chunks == report.chunks_embedded  # the three old articles' vectors were reused
    assert sorted(p.name for p in takeover.corpus_dir.iterdir()) == ["directive.md", "fresh.md", "meatpacker.md", "pipeline.md"]
    assert (takeover.data_dir / "versions" / first.version).is_dir()

    back = build_index(first_machine, embedder=embedder)  # the first machine pulls the new article
    assert (first_machine.corpus_dir / "fresh.md").read_bytes() == (takeover.corpus_dir / "fresh.md").read_bytes()
    assert back.articles == 4


def test_a_builder_killed_mid_build_loses_nothing_and_another_takes_over(
    pg_place: Place, embedder: FakeEncoder
) -> None:
    old, new = pg_place("old"), pg_place("new")
    _stories(old)
    first = build_index(old, embedder=embedder)
    write_article(old.corpus_dir, "late", "A late story about a new cyber rule for banks and insurers.")
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        from index.store._execute import build_index
        from index.settings import Settings
        from tests.support.fakes import FakeEncoder
        class Killer(FakeEncoder):
            def encode_chunks(self, texts, spans, progress=None):
                os.kill(os.getpid(), signal.SIGKILL)
        build_index(Settings(_env_file=None, data_dir={str(old.data_dir)!r}, corpus_dir={str(old.corpus_dir)!r},
                             database_url={_url(old)!r}), embedder=Killer())
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert _live(new) == first.version

    report = build_index(new, embedder=embedder)  # another machine: the late article reached the database
    assert (report.added, report.articles) == (1, 4)
    assert any(s.article_id == "late" for s in Engine(new, embedder=embedder).ask(  # type: ignore[arg-type]
        "Which cyber rule was adopted for banks and insurers?").sources)


def test_a_lost_connection_is_reopened_at_once(pg_place: Place, embedder: FakeEncoder) -> None:
    builder = pg_place("builder")
    url = _url(builder)
    _stories(builder)
    build_index(builder, embedder=embedder)
    engine = Engine(pg_place("reader"), embedder=embedder)  # type: ignore[arg-type]
    engine.ask(QUESTION)
    killed = _sql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    assert killed  # the reader's polling connection
    write_article(builder.corpus_dir, "fresh", "Officials in Lisbon adopted a cyber resilience plan for hospitals.")
    second = build_index(builder, embedder=embedder)
    assert engine.stats().version == second.version  # the first poll after the loss reconnected


def test_names_from_the_database_never_leave_the_data_folder(pg_place: Place, embedder: FakeEncoder) -> None:
    builder = pg_place("builder")
    url = _url(builder)
    _stories(builder)
    first = build_index(builder, embedder=embedder)
    (segment,) = _segments_of(url, first.version)
    _sql(url, "INSERT INTO pb_segment_file (segment, file, part, bytes) VALUES (%s, '../../escape', 0, 'x')", (segment,))
    reader = pg_place("reader")
    with pytest.raises(IndexCorruptError, match="refused"):
        Engine(reader, embedder=embedder).ask(QUESTION)  # type: ignore[arg-type]
    assert not (reader.data_dir / "escape").exists() and not (reader.data_dir.parent / "escape").exists()

    _sql(url, "DELETE FROM pb_segment_file WHERE file = '../../escape'")
    _sql(url, "INSERT INTO pb_version (name, manifest, body) VALUES ('../../v000009-x', '{}', '{}')")
    _sql(url, "UPDATE pb_live SET version = '../../v000009-x'")
    with pytest.raises(IndexCorruptError, match="refused"):
        Engine(pg_place("other"), embedder=embedder).ask(QUESTION)  # type: ignore[arg-type]


def test_the_loaded_version_serves_while_the_database_is_unreachable(
    pg_place: Place, postgres_server: str, embedder: FakeEncoder, caplog: pytest.LogCaptureFixture
) -> None:
    builder = pg_place("builder")
    url = _url(builder)
    _stories(builder)
    first = build_index(builder, embedder=embedder)
    engine = Engine(pg_place("reader"), embedder=embedder)  # type: ignore[arg-type]
    before = engine.ask(QUESTION)
    ((name,),) = _sql(url, "SELECT current_database()")
    _sql(postgres_server, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')  # from outside it
    _sql(postgres_server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    assert engine.ask(QUESTION).sources == before.sources
    assert engine.stats().version == first.version
    assert "still serving" in caplog.text
    with pytest.raises(DatabaseError):
        Engine(pg_place("late"), embedder=embedder).ask(QUESTION)  # type: ignore[arg-type]


def test_an_unreachable_database_costs_questions_one_attempt_per_retry_interval(
    pg_place: Place, postgres_server: str, embedder: FakeEncoder, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database that does not answer must not make every question wait for a connection attempt
    (or fill the log): after one failed check, the loaded version serves without trying again."""
    from index.store import _pg_home

    builder = pg_place("builder")
    url = _url(builder)
    _stories(builder)
    build_index(builder, embedder=embedder)
    engine = Engine(pg_place("reader"), embedder=embedder)  # type: ignore[arg-type]
    before = engine.ask(QUESTION)
    attempts: list[str] = []
    real = _pg_home.open_connection

    def counted(target: str) -> object:
        attempts.append(target)
        return real(target)

    monkeypatch.setattr(_pg_home, "open_connection", counted)
    monkeypatch.setattr(_pg_home, "RETRY_AFTER", 3600.0)  # "a while" outlasts the loop however slow the machine
    ((name,),) = _sql(url, "SELECT current_database()")
    _sql(postgres_server, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    _sql(postgres_server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    try:
        for _ in range(10):
            assert engine.ask(QUESTION).sources == before.sources
        assert 1 <= len(attempts) <= 2  # the first check (and its one reconnect), then none for a while
        assert caplog.text.count("cannot check for a new index version") == 1
    finally:
        _sql(postgres_server, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
