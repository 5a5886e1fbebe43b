"""Publishing a version to PostgreSQL: the segments the database lacks, the version's manifest
and the live pointer in ONE transaction, so readers see the old version or the whole new one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from index.database import lock_key
from index.errors import BuildError
from index.store import _versions as versions
from index.store._pg_schema import PART_BYTES
from index.store._segment import MANIFEST as SEGMENT_MANIFEST
from index.store._segment import verify_segment
from index.store._snapshot import MANIFEST, read_version_manifest

PUBLISH_LOCK = "index-publish"
"""Publishers and pruners take this transaction lock, so a prune never drops a segment a publish reuses."""


def publish_version(conn: Any, data_dir: Path, version_dir: Path) -> None:
    """Upload what version ``version_dir`` needs and make it live (raises, committing nothing, on failure)."""
    from psycopg.types.json import Jsonb

    name = version_dir.name
    manifest = read_version_manifest(version_dir)
    body = (version_dir / MANIFEST).read_text()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(PUBLISH_LOCK),))
        if conn.execute("SELECT 1 FROM pb_version WHERE name = %s", (name,)).fetchone():
            raise BuildError(f"index version {name} is already in the database")
        for item in manifest["segments"]:
            upload_segment(conn, versions.segments_root(data_dir) / item["name"], item["sha256"])
        conn.execute(
            "INSERT INTO pb_version (name, manifest, body) VALUES (%s, %s, %s)", (name, Jsonb(manifest), body)
        )
        set_live(conn, name)


def upload_segment(conn: Any, folder: Path, sha256: str) -> None:
    """Store segment ``folder`` file by file, in parts, unless the database has it already."""
    from psycopg.types.json import Jsonb

    row = conn.execute("SELECT sha256 FROM pb_segment WHERE name = %s", (folder.name,)).fetchone()
    if row is not None:
        if row[0] != sha256:
            raise BuildError(f"the database holds another segment named {folder.name}; build again")
        return
    manifest, digest = verify_segment(folder)  # what is uploaded is what was verified
    if digest != sha256:
        raise BuildError(f"segment {folder.name} is not the one the new version names")
    conn.execute(
        "INSERT INTO pb_segment (name, manifest, sha256) VALUES (%s, %s, %s)", (folder.name, Jsonb(manifest), sha256)
    )
    for file in [SEGMENT_MANIFEST, *sorted(manifest["files"])]:
        with open(folder / file, "rb") as fh:
            part = 0
            while True:
                block = fh.read(PART_BYTES)
                if block or part == 0:
                    conn.execute(
                        "INSERT INTO pb_segment_file (segment, file, part, bytes) VALUES (%s, %s, %s, %s)",
                        (folder.name, file, part, block),
                    )
                if len(block) < PART_BYTES:
                    break
                part += 1


def set_live(conn: Any, name: str) -> None:
    """Point the singleton ``pb_live`` row at version ``name`` (inside the publishing transaction)."""
    conn.execute(
        "INSERT INTO pb_live (id, version, updated) VALUES (true, %s, now()) "
        "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, updated = EXCLUDED.updated",
        (name,),
    )


def live_version(conn: Any) -> str | None:
    row = conn.execute("SELECT version FROM pb_live").fetchone()
    return None if row is None else str(row[0])


def version_names(conn: Any) -> list[str]:
    return [str(r[0]) for r in conn.execute("SELECT name FROM pb_version ORDER BY name").fetchall()]


def prune_versions(conn: Any, keep: int) -> set[str]:
    """Delete all but the newest ``keep`` versions (never the live one) and the segments no kept
    version names; returns the versions kept."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(PUBLISH_LOCK),))
        live = live_version(conn)
        names = version_names(conn)
        drop = [n for n in names[: max(0, len(names) - keep)] if n != live]
        if drop:
            conn.execute("DELETE FROM pb_version WHERE name = ANY(%s)", (drop,))
        conn.execute(
            "DELETE FROM pb_segment WHERE name NOT IN "
            "(SELECT jsonb_array_elements(manifest -> 'segments') ->> 'name' FROM pb_version)"
        )
        return set(names) - set(drop)
