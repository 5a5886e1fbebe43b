"""The corpus shared through PostgreSQL: pushed, pulled, edited and removed on either machine, and
rows that would write outside the corpus or do not match their checksum refused one by one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
import pytest

from index.settings import Settings
from index.store._home import open_home
from tests.support.articles import STORIES, write_article


@pytest.fixture
def machines(tmp_path: Path, postgres_url: str) -> tuple[Settings, Settings]:
    made = []
    for name in ("a", "b"):
        corpus = tmp_path / f"corpus-{name}"
        corpus.mkdir()
        made.append(Settings(_env_file=None, data_dir=tmp_path / f"data-{name}", corpus_dir=corpus, database_url=postgres_url))
    return made[0], made[1]


def _sync(settings: Settings, paths: list[Path] | None = None) -> list[str]:
    home = open_home(settings)
    try:
        changed = home.sync_corpus(settings.corpus_dir, settings.trash_dir, paths)
    finally:
        home.close()
    return sorted(p.relative_to(settings.corpus_dir).as_posix() for p in changed)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_files_are_pushed_pulled_edited_and_removed(machines: tuple[Settings, Settings]) -> None:
    a, b = machines
    for name, body in STORIES.items():
        write_article(a.corpus_dir, name, body)
    write_article(a.corpus_dir / "feeds" / "wire", "nested", "A nested feed article about a cyber law.")
    assert _sync(a) == []  # pushed, nothing changed here
    assert _sync(b) == ["directive.md", "feeds/wire/nested.md", "meatpacker.md", "pipeline.md"]
    assert _files(b.corpus_dir) == _files(a.corpus_dir)

    write_article(b.corpus_dir, "pipeline", STORIES["pipeline"] + " Edited on the second machine.")
    (b.corpus_dir / "directive.md").unlink()
    write_article(b.corpus_dir, "fresh", "Officials in Lisbon adopted a cyber resilience plan.")
    assert _sync(b) == []  # its own edits are pushed, not pulled back
    assert _sync(a) == ["directive.md", "fresh.md", "pipeline.md"]
    assert _files(a.corpus_dir) == _files(b.corpus_dir)
    trashed = list(a.trash_dir.iterdir())
    assert len(trashed) == 2  # the removed file and the copy the edit replaced: nothing is lost
    assert {p.name.split("-", 1)[1] for p in trashed} == {"directive.md", "pipeline.md"}
    assert _sync(a) == [] and _sync(b) == []  # settled


def test_bad_rows_are_refused_and_the_others_pulled(machines: tuple[Settings, Settings], postgres_url: str) -> None:
    a, b = machines
    write_article(a.corpus_dir, "good", "A good article about a cyber incident report rule.")
    _sync(a)
    evil = b"---\ntitle: x\n---\nescaped"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for path, body, sha in [
            ("../escape.md", evil, hashlib.sha256(evil).hexdigest()),
            ("/etc/escape.md", evil, hashlib.sha256(evil).hexdigest()),
            (".hidden/x.md", evil, hashlib.sha256(evil).hexdigest()),
            ("tampered.md", evil, "0" * 64),
        ]:
            conn.execute("INSERT INTO pb_corpus_file (path, body, sha256) VALUES (%s, %s, %s)", (path, body, sha))
    assert _sync(b) == ["good.md"]
    assert sorted(_files(b.corpus_dir)) == ["good.md"]
    assert not (b.corpus_dir.parent / "escape.md").exists()


def test_an_increment_looks_at_its_files_and_at_rows_changed_since(machines: tuple[Settings, Settings]) -> None:
    a, b = machines
    write_article(a.corpus_dir, "first", "A first article about a cyber incident report rule.")
    _sync(a)
    _sync(b)
    told = write_article(a.corpus_dir, "told", "An article the caller reports as written.")
    untold = write_article(a.corpus_dir, "untold", "An article written behind the build's back.")
    assert _sync(a, [told]) == []
    assert _sync(b, []) == ["told.md"]  # a row changed since b's last sync, though b was told nothing
    assert not (b.corpus_dir / "untold.md").exists()  # an increment does not walk the corpus
    (b.corpus_dir / "first.md").unlink()
    assert _sync(b, [b.corpus_dir / "first.md"]) == []
    assert _sync(a, []) == ["first.md"] and not (a.corpus_dir / "first.md").exists()
    assert _sync(a) == []  # a full sync walks: the untold file is pushed
    assert _sync(b, []) == ["untold.md"]
    assert (b.corpus_dir / "untold.md").read_bytes() == untold.read_bytes()
