"""The corpus without a shared volume: article files are mirrored in ``pb_corpus_file`` so a
builder taking over on another machine has every article. A file edited here since the last sync
is pushed; otherwise the database's copy wins (a local copy it replaces goes to the trash)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import stat
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from index import durability
from index.corpus import SUFFIXES, iter_corpus_files, move_to_trash
from index.store._segment import file_digest

log = logging.getLogger(__name__)
STATE = "corpus-sync.sqlite"
"""This machine's view at its last sync: each file's size, mtime and SHA-256 (what "edited here" means)."""

SETTLE = "5 minutes"
"""Rows changed this long before the last sync are read again (a write may commit after it read)."""
BATCH = 200
"""Files reconciled per transaction: one commit per file made a 1,000-article increment wait on
1,000 WAL flushes; a short batch keeps each commit well inside the settling margin."""

Local = dict[str, tuple[int, int, str]]


def sync_corpus(
    conn: Any, corpus_dir: Path, data_dir: Path, trash_dir: Path, paths: Sequence[Path] | None = None
) -> list[Path]:
    """Push local edits, pull other machines' changes and removals; returns the local files written
    or removed. ``paths``: changed files, looked at with the rows changed since the last sync (None,
    or a first sync here: everything). One file failing is logged and the others go on."""
    synced, since = _load_state(data_dir)
    now = conn.execute("SELECT now()").fetchone()[0]
    if paths is None or since is None:
        local = _walk(corpus_dir, synced)
        rows = conn.execute("SELECT path, sha256, removed FROM pb_corpus_file").fetchall()
    else:
        wanted = [rel for rel in (_relative(corpus_dir, p) for p in paths) if rel is not None]
        rows = conn.execute(
            "SELECT path, sha256, removed FROM pb_corpus_file WHERE path = ANY(%s) OR updated > %s - %s::interval",
            (wanted, since, SETTLE),
        ).fetchall()
        local = _stat(corpus_dir, {*wanted, *(str(r[0]) for r in rows)}, synced)
    shared = {str(path): (str(sha), bool(removed)) for path, sha, removed in rows}
    changed = _reconcile(conn, corpus_dir, trash_dir, local, shared, synced)
    if paths is None or since is None:
        _save_state(data_dir, _walk(corpus_dir, local), now, None)
    else:
        looked_at = {*local, *shared}
        _save_state(data_dir, _stat(corpus_dir, looked_at, local), now, looked_at)
    return changed


def _reconcile(
    conn: Any, corpus_dir: Path, trash_dir: Path, local: Local, shared: dict[str, tuple[str, bool]], synced: Local
) -> list[Path]:
    changed: list[Path] = []
    names = sorted({*local, *shared})
    for start in range(0, len(names), BATCH):
        with conn.transaction():  # one commit per batch, not one per file
            changed.extend(
                _reconcile_batch(conn, corpus_dir, trash_dir, local, shared, synced, names[start : start + BATCH])
            )
    return changed


def _reconcile_batch(
    conn: Any,
    corpus_dir: Path,
    trash_dir: Path,
    local: Local,
    shared: dict[str, tuple[str, bool]],
    synced: Local,
    names: list[str],
) -> list[Path]:
    changed: list[Path] = []
    for rel in names:
        here, row, before = local.get(rel), shared.get(rel), synced.get(rel)
        try:
            if here is None:
                if row is None or row[1]:
                    continue
                if before is not None:  # here at the last sync, gone now: removed on this machine
                    conn.execute(
                        "UPDATE pb_corpus_file SET removed = true, body = NULL, updated = now() "
                        "WHERE path = %s AND sha256 = %s",
                        (rel, row[0]),
                    )
                elif _pull(conn, corpus_dir, rel, trash_dir):
                    changed.append(corpus_dir / rel)
            elif row == (here[2], False):
                continue
            elif row is None or (before is not None and before[2] != here[2]):
                _push(conn, corpus_dir / rel, rel)
            elif row[1]:
                move_to_trash(corpus_dir / rel, trash_dir)
                changed.append(corpus_dir / rel)
            elif _pull(conn, corpus_dir, rel, trash_dir):
                changed.append(corpus_dir / rel)
        except OSError as exc:
            log.warning("corpus sync: %s skipped: %s", rel, exc)
    return changed


def _relative(corpus_dir: Path, path: Path) -> str | None:
    """``path`` as a corpus-relative POSIX name, or None when the corpus walk would not read it."""
    try:
        rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(corpus_dir)).as_posix()
    except ValueError:
        return None
    return rel if _safe_relative(rel) else None


def _stat(corpus_dir: Path, rels: set[str], known: Local) -> Local:
    """The regular article files among ``rels`` that exist, hashed only when their size or mtime changed."""
    found: Local = {}
    for rel in rels:
        entry = _entry(corpus_dir / rel, known.get(rel)) if _safe_relative(rel) else None
        if entry is not None:
            found[rel] = entry
    return found


def _walk(corpus_dir: Path, known: Local) -> Local:
    """Every regular article file (relative POSIX path), hashed only when its size or mtime changed."""
    found: Local = {}
    for path in iter_corpus_files(corpus_dir):
        rel = path.relative_to(corpus_dir).as_posix()
        entry = _entry(path, known.get(rel))
        if entry is not None:
            found[rel] = entry
    return found


def _entry(path: Path, old: tuple[int, int, str] | None) -> tuple[int, int, str] | None:
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            return None  # links and FIFOs stay local: the build names why it skips them
        if old is not None and old[:2] == (st.st_size, st.st_mtime_ns):
            return old
        return (st.st_size, st.st_mtime_ns, file_digest(path)["sha256"])
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("corpus sync: %s unreadable: %s", path, exc)
        return None


def _push(conn: Any, path: Path, rel: str) -> None:
    body = path.read_bytes()  # one file at a time
    conn.execute(
        "INSERT INTO pb_corpus_file (path, body, sha256, removed, updated) VALUES (%s, %s, %s, false, now()) "
        "ON CONFLICT (path) DO UPDATE SET body = EXCLUDED.body, sha256 = EXCLUDED.sha256, removed = false, "
        "updated = EXCLUDED.updated",
        (rel, body, hashlib.sha256(body).hexdigest()),
    )


def _pull(conn: Any, corpus_dir: Path, rel: str, trash_dir: Path) -> bool:
    """Write the database's copy of ``rel``; False (logged) when its path or body is refused."""
    if not _safe_relative(rel):
        log.warning("corpus sync: refused the path %r from the database", rel[:80])
        return False
    row = conn.execute("SELECT body, sha256 FROM pb_corpus_file WHERE path = %s AND NOT removed", (rel,)).fetchone()
    if row is None or row[0] is None:
        return False
    body = bytes(row[0])
    if hashlib.sha256(body).hexdigest() != row[1]:
        log.warning("corpus sync: %s in the database does not match its checksum: not pulled", rel)
        return False
    target = corpus_dir / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.sync-tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(body)
            fh.flush()
            durability.fsync_file(fh.fileno(), tmp)
        if target.exists() or target.is_symlink():
            move_to_trash(target, trash_dir)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return True


def _safe_relative(rel: str) -> bool:
    """A path that stays inside the corpus and that the corpus walk would read (no hidden parts)."""
    parts = PurePosixPath(rel).parts
    return (
        bool(parts)
        and not rel.startswith("/")
        and "\\" not in rel
        and "\x00" not in rel
        and all(p not in ("", ".", "..") and not p.startswith(".") for p in parts)
        and os.path.splitext(rel)[1].lower() in SUFFIXES
    )


def _load_state(data_dir: Path) -> tuple[Local, datetime | None]:
    """The files as of the last sync, and when it read the table (None: never synced here)."""
    path = data_dir / STATE
    if not path.exists():
        return {}, None
    try:
        with contextlib.closing(sqlite3.connect(path)) as db:
            rows = db.execute("SELECT path, size, mtime_ns, sha256 FROM files").fetchall()
            mark = db.execute("SELECT value FROM meta WHERE key = 'since'").fetchone()
    except sqlite3.Error:
        return {}, None  # unreadable: every difference counts as "changed elsewhere" (nothing is lost: trash)
    since = datetime.fromisoformat(mark[0]) if mark else None
    return {str(p): (int(s), int(m), str(h)) for p, s, m, h in rows}, since


def _save_state(data_dir: Path, local: Local, since: datetime, looked_at: set[str] | None) -> None:
    """Record ``local`` (for ``looked_at`` only, or the whole corpus when None) and the sync's time."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(data_dir / STATE)) as db, db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT)"
        )
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        if looked_at is None:
            db.execute("DELETE FROM files")
        else:
            db.executemany("DELETE FROM files WHERE path = ?", [(rel,) for rel in looked_at])
        db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", [(p, *v) for p, v in local.items()])
        db.execute("INSERT OR REPLACE INTO meta VALUES ('since', ?)", (since.isoformat(),))
