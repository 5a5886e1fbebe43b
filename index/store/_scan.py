"""Reading the corpus for a build without re-reading files that have not changed.

A cache of each file's size, mtime, id and hash lets an unchanged file come from the live version's
row; like git's index, a file modified within two seconds of its scan is always re-read.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from index.corpus import load_corpus
from index.store import _versions as versions
from index.store._columns import ArticleRow
from index.store._snapshot import Snapshot
from index.types import Article

CACHE = "corpus-files.sqlite"
RACY_NS = 2_000_000_000
T = TypeVar("T")


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int
    article_id: str
    content_hash: str


@dataclass(frozen=True)
class Scan:
    """The corpus as a build sees it: articles (stubs without text for unchanged files), skipped
    files with reasons, how many files were read, and the cache to save after a successful build."""

    articles: list[Article]
    errors: list[tuple[str, str]]
    read: int
    states: dict[str, FileState]
    started_ns: int


def scan_corpus(corpus_dir: Path, data_dir: Path, previous: Snapshot | None) -> Scan:
    """Every article of ``corpus_dir``; unchanged files come from ``previous`` (None: read all)."""
    started = time.time_ns()
    cached, cached_at = _load(data_dir) if previous is not None else ({}, 0)
    known = previous.live_hashes() if previous is not None and cached else {}
    stats: dict[str, os.stat_result] = {}
    reused = 0

    def reuse(path: str) -> Article | None:
        nonlocal reused
        try:
            st = stats[path] = os.stat(path)
        except OSError:
            return None  # reading it reports why
        entry = cached.get(path)
        if (
            entry is not None
            and entry.size == st.st_size
            and entry.mtime_ns == st.st_mtime_ns
            and st.st_mtime_ns < cached_at - RACY_NS
            and known.get(entry.article_id) == (entry.content_hash, path)
        ):
            reused += 1
            return unchanged(entry.article_id, path, entry.content_hash)
        return None

    articles, errors = load_corpus(corpus_dir, reuse)
    states = {}
    for article in articles:
        st = stats.get(article.path)
        if st is not None:
            states[article.path] = FileState(st.st_size, st.st_mtime_ns, article.id, article.content_hash)
    read = len(stats) - reused
    return Scan(articles, errors, read, states, started)


def unchanged(article_id: str, path: str, content_hash: str) -> Article:
    """A file the live version holds as it is: id and hash are all a build needs of it (the
    metadata stays in the version's rows, and is read only if the article is copied)."""
    return Article(
        id=article_id, path=path, title="", source="", url="", published=None, text="", content_hash=content_hash
    )


def stub(row: ArticleRow) -> Article:
    """An unchanged article as the live version stored it (no text: it is never chunked again)."""
    c = row.citation
    return Article(
        id=c.article_id, path=row.path, title=c.title, source=c.source, url=c.url, published=c.published,
        text="", authors=row.authors, tags=row.tags, content_hash=row.content_hash,
    )


def is_stub(article: Article) -> bool:
    return article.text == ""


def save(data_dir: Path, scan: Scan) -> None:
    """Record the scan after a successful build (written whole, then renamed into place)."""
    tmp = data_dir / f".{CACHE}.tmp"
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE meta(scanned_at INTEGER NOT NULL);"
            "CREATE TABLE files(path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, id TEXT, hash TEXT) WITHOUT ROWID;"
        )
        db.execute("INSERT INTO meta VALUES (?)", (scan.started_ns,))
        db.executemany(
            "INSERT INTO files VALUES (?,?,?,?,?)",
            (_row(p, s) for p, s in scan.states.items()),
        )
        db.commit()
    finally:
        db.close()
    versions.replace_durably(tmp, data_dir / CACHE)


def _load(data_dir: Path) -> tuple[dict[str, FileState], int]:
    """The last scan's records; anything unreadable means "read every file" (it is only a cache)."""

    def read(db: sqlite3.Connection) -> tuple[dict[str, FileState], int]:
        (scanned_at,) = db.execute("SELECT scanned_at FROM meta").fetchone()
        rows = db.execute("SELECT path, size, mtime_ns, id, hash FROM files").fetchall()
        return {r[0]: FileState(r[1], r[2], r[3], r[4]) for r in rows}, int(scanned_at)

    return _read_cache(data_dir, read) or ({}, 0)


def cached_states(data_dir: Path, paths: list[str]) -> dict[str, FileState] | None:
    """The last scan's records of ``paths`` only (None: no usable cache, so an increment cannot
    tell which article a deleted file held and the build walks the corpus instead)."""

    def read(db: sqlite3.Connection) -> dict[str, FileState]:
        db.execute("SELECT scanned_at FROM meta").fetchone()
        out: dict[str, FileState] = {}
        for start in range(0, len(paths), 500):
            part = paths[start : start + 500]
            marks = ",".join("?" * len(part))
            for r in db.execute(f"SELECT path, size, mtime_ns, id, hash FROM files WHERE path IN ({marks})", part):
                out[r[0]] = FileState(r[1], r[2], r[3], r[4])
        return out

    return _read_cache(data_dir, read)


def _read_cache(data_dir: Path, read: Callable[[sqlite3.Connection], T]) -> T | None:
    """``read`` run on the cache opened read-only; None when there is none or it is unreadable."""
    path = data_dir / CACHE
    if not path.is_file():
        return None
    with contextlib.suppress(sqlite3.DatabaseError, TypeError, ValueError):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return read(db)
        finally:
            db.close()
    return None


def _row(path: str, state: FileState) -> tuple[str, int, int, str, str]:
    return path, state.size, state.mtime_ns, state.article_id, state.content_hash


def update(data_dir: Path, states: dict[str, FileState | None]) -> None:
    """Record an increment's files in the cache in place (None: the file no longer holds an
    article). One transaction; a cache that cannot be updated is removed, so the next build reads
    every file rather than trusting a stale record."""
    path = data_dir / CACHE
    try:
        db = sqlite3.connect(path)
        try:
            with db:
                db.executemany("DELETE FROM files WHERE path = ?", ((p,) for p, s in states.items() if s is None))
                db.executemany(
                    "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?)",
                    (_row(p, s) for p, s in states.items() if s is not None),
                )
        finally:
            db.close()
    except sqlite3.DatabaseError:
        path.unlink(missing_ok=True)
