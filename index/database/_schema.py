"""Each part's tables are created once per database, under a transaction-level advisory lock, so
several bots starting together against a new database never race on ``CREATE``."""

from __future__ import annotations

import zlib
from typing import Any

from index.errors import DatabaseError

_SCHEMA_TABLE = "CREATE TABLE IF NOT EXISTS policybot_schema (part text PRIMARY KEY, version integer NOT NULL)"


def lock_key(name: str) -> int:
    """A stable 32-bit advisory-lock key for ``name`` (the same in every process)."""
    return zlib.crc32(f"policybot:{name}".encode())


def ensure_schema(conn: Any, part: str, version: int, ddl: str) -> None:
    """Run ``ddl`` (idempotent statements) for ``part`` unless this database has it at ``version``;
    a database made by a newer policybot is refused rather than changed."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("schema"),))
        conn.execute(_SCHEMA_TABLE)
        row = conn.execute("SELECT version FROM policybot_schema WHERE part = %s", (part,)).fetchone()
        if row is not None and row[0] > version:
            raise DatabaseError(f"the database's {part} tables are version {row[0]}; this policybot knows {version}")
        if row is not None and row[0] == version:
            return
        conn.execute(ddl)
        conn.execute(
            "INSERT INTO policybot_schema (part, version) VALUES (%s, %s) "
            "ON CONFLICT (part) DO UPDATE SET version = EXCLUDED.version",
            (part, version),
        )
