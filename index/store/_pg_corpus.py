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
from pathlib import Path, PurePosixPath
from typing import Any

from index import durability
from index.corpus import SUFFIXES, iter_corpus_files, move_to_trash

log = logging.getLogger(__name__)
STATE = "corpus-sync.sqlite"
"""This machine's view at its last sync: each file's size, mtime and SHA-256 (what "edited here" means)."""

Local = dict[str, tuple[int, int, str]]


def sync_corpus(conn: Any, corpus_dir: Path, data_dir: Path, trash_dir: Path) -> list[Path]:
    """Push local edits, pull what other machines added or changed, apply their removals; returns
    the local files written or removed. One file failing is logged and the others go on."""
    synced = _load_state(data_dir)
    local = _walk(corpus_dir, synced)
    shared: dict[str, tuple[str, bool]] = {
        str(path): (str(sha), bool(removed))
        for path, sha, removed in conn.execute("SELECT path, sha256, removed FROM pb_corpus_file").fetchall()
    }
    changed: list[Path] = []
    for rel, (_, _, sha) in sorted(local.items()):
        row = shared.get(rel)
        if row == (sha, False):
            continue
        before = synced.get(rel)
        try:
            if row is None or (before is not None and before[2] != sha):
                _push(conn, corpus_dir / rel, rel)
            elif row[1]:
                move_to_trash(corpus_dir / rel, trash_dir)
                changed.append(corpus_dir / rel)
            elif _pull(conn, corpus_dir, rel, trash_dir):
                changed.append(corpus_dir / rel)
        except OSError as exc:
            log.warning("corpus sync: %s skipped: %s", rel, exc)
    for rel, (sha, removed) in sorted(shared.items()):
        if removed or rel in local:
            continue
        if rel in synced:  # here at the last sync, gone now: removed on this machine
            conn.execute(
                "UPDATE pb_corpus_file SET removed = true, body = NULL, updated = now() WHERE path = %s AND sha256 = %s",
                (rel, sha),
            )
            continue
        try:
            if _pull(conn, corpus_dir, rel, trash_dir):
                changed.append(corpus_dir / rel)
        except OSError as exc:
            log.warning("corpus sync: %s not pulled: %s", rel, exc)
    _save_state(data_dir, _walk(corpus_dir, local))
    return changed


def _walk(corpus_dir: Path, known: Local) -> Local:
    """Every regular article file (relative POSIX path), hashed only when its size or mtime changed."""
    found: Local = {}
    for path in iter_corpus_files(corpus_dir):
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                continue  # links and FIFOs stay local: the build names why it skips them
            rel = path.relative_to(corpus_dir).as_posix()
            old = known.get(rel)
            if old is not None and old[:2] == (st.st_size, st.st_mtime_ns):
                found[rel] = old
            else:
                found[rel] = (st.st_size, st.st_mtime_ns, _file_sha256(path))
        except OSError as exc:
            log.warning("corpus sync: %s unreadable: %s", path, exc)
    return found


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def _load_state(data_dir: Path) -> Local:
    path = data_dir / STATE
    if not path.exists():
        return {}
    try:
        with contextlib.closing(sqlite3.connect(path)) as db:
            rows = db.execute("SELECT path, size, mtime_ns, sha256 FROM files").fetchall()
    except sqlite3.Error:
        return {}  # unreadable: every difference counts as "changed elsewhere" (nothing is lost: trash)
    return {str(p): (int(s), int(m), str(h)) for p, s, m, h in rows}


def _save_state(data_dir: Path, local: Local) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(data_dir / STATE)) as db, db:
        db.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT)")
        db.execute("DELETE FROM files")
        db.executemany("INSERT INTO files VALUES (?, ?, ?, ?)", [(p, *v) for p, v in local.items()])
