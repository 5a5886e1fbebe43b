"""Bringing a version from PostgreSQL into the local cache (``data/versions``, ``data/segments``):
downloaded into a temporary folder, verified by the same checksums a local build writes, then
renamed into place, so a corrupt download is refused and never replaces what serves."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from index import durability
from index.errors import IndexCorruptError, IndexMissingError
from index.store import _versions as versions
from index.store._pg_schema import checked_file, checked_name
from index.store._segment import verify_segment
from index.store._snapshot import MANIFEST, verify_version


def fetch_version(conn: Any, data_dir: Path, name: str) -> Path:
    """Version ``name``'s local folder, downloaded with every segment it lacks; raises
    :class:`IndexCorruptError` (nothing replaced) when a download does not match its checksums."""
    checked_name(name)
    row = conn.execute("SELECT body FROM pb_version WHERE name = %s", (name,)).fetchone()
    if row is None:
        raise IndexMissingError(f"index version {name} is not in the database")
    body = str(row[0])
    try:
        manifest = json.loads(body)
        wanted = [(checked_name(item["name"]), str(item["sha256"])) for item in manifest["segments"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"index version {name} in the database has a damaged manifest: {exc}") from None
    for segment, sha256 in wanted:
        fetch_segment(conn, data_dir, segment, sha256)
    final = versions.versions_dir(data_dir) / name
    if _manifest_digest(final) == manifest.get("digest"):
        return final
    tmp = versions.new_tmp_dir(data_dir)
    try:
        (tmp / MANIFEST).write_text(body)
        try:
            verify_version(tmp)
        except IndexCorruptError as exc:
            raise IndexCorruptError(f"download of index version {name} refused: {exc}") from None
        _move_into_place(tmp, final, lambda: _manifest_digest(final) == manifest.get("digest"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def fetch_segment(conn: Any, data_dir: Path, name: str, sha256: str) -> None:
    """Make ``data/segments/name`` the segment whose manifest has ``sha256``, downloading it if needed."""
    final = versions.segments_root(data_dir) / name
    if _segment_digest(final) == sha256:
        return
    rows = conn.execute(
        "SELECT file, count(*), max(part) FROM pb_segment_file WHERE segment = %s GROUP BY file ORDER BY file", (name,)
    ).fetchall()
    if not rows:
        raise IndexMissingError(f"index segment {name} is not in the database")
    tmp = versions.new_tmp_segment_dir(data_dir)
    try:
        for file, count, last in rows:
            if count != last + 1:
                raise IndexCorruptError(f"index segment {name} in the database lacks parts of {file}")
            _download(conn, name, checked_file(file), int(count), tmp / file)
        durability.fsync_dir(tmp)
        try:
            _, digest = verify_segment(tmp)
        except (IndexCorruptError, IndexMissingError) as exc:
            raise IndexCorruptError(f"download of index segment {name} refused: {exc}") from None
        if digest != sha256:
            raise IndexCorruptError(f"download of index segment {name} refused: not the one the version names")
        _move_into_place(tmp, final, lambda: _segment_digest(final) == sha256)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _download(conn: Any, segment: str, file: str, parts: int, target: Path) -> None:
    """One file, part by part (bounded memory), written and synced."""
    with open(target, "wb") as fh:
        for part in range(parts):
            row = conn.execute(
                "SELECT bytes FROM pb_segment_file WHERE segment = %s AND file = %s AND part = %s", (segment, file, part)
            ).fetchone()
            if row is None:
                raise IndexCorruptError(f"index segment {segment} in the database lacks part {part} of {file}")
            fh.write(row[0])
        fh.flush()
        durability.fsync_file(fh.fileno(), target)


def _move_into_place(tmp: Path, final: Path, already_there: Callable[[], bool]) -> None:
    """Rename a verified download to its name; a folder there already is kept when it is the same
    (another process on this data folder fetched it too), else set aside and removed."""
    if final.exists():
        if already_there():
            return
        aside = final.with_name(f"{versions.TMP_PREFIX}old-{os.getpid()}-{final.name}")
        os.replace(final, aside)
        shutil.rmtree(aside, ignore_errors=True)
    try:
        versions.replace_durably(tmp, final)
    except OSError:
        if not already_there():  # lost a race to another process fetching the same version
            raise


def _manifest_digest(version_dir: Path) -> str | None:
    try:
        digest = json.loads((version_dir / MANIFEST).read_text()).get("digest")
    except (OSError, ValueError, AttributeError):
        return None
    return digest if isinstance(digest, str) else None


def _segment_digest(folder: Path) -> str | None:
    if not folder.is_dir():
        return None
    try:
        return verify_segment(folder)[1]
    except (IndexCorruptError, IndexMissingError):
        return None
