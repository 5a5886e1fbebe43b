"""The index's tables in PostgreSQL: segments stored file by file in parts, versions, the live
pointer and the corpus files a builder on another machine needs (docs/design/postgres-store.md)."""

from __future__ import annotations

import re
from typing import Any

from index.database import connect, database_error, ensure_schema
from index.errors import IndexCorruptError

PART = "index"
VERSION = 1
PART_BYTES = 4 << 20
"""A segment file is stored in rows of this many bytes, so neither side holds a whole file in memory."""

DDL = """
CREATE TABLE IF NOT EXISTS pb_segment (
    name text PRIMARY KEY,
    manifest jsonb NOT NULL,
    sha256 text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS pb_segment_file (
    segment text NOT NULL REFERENCES pb_segment (name) ON DELETE CASCADE,
    file text NOT NULL,
    part integer NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (segment, file, part)
);
ALTER TABLE pb_segment_file ALTER COLUMN bytes SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS pb_version (
    name text PRIMARY KEY,
    manifest jsonb NOT NULL,
    body text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS pb_live (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    version text NOT NULL REFERENCES pb_version (name),
    updated timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS pb_corpus_file (
    path text PRIMARY KEY,
    body bytea,
    sha256 text NOT NULL,
    removed boolean NOT NULL DEFAULT false,
    updated timestamptz NOT NULL DEFAULT now()
);
"""

_STORED_NAME = re.compile(r"[sv][0-9]{6}-[0-9A-Za-z]{1,40}")
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}")


def open_connection(url: str) -> Any:
    """A connection with the index's tables in place (created by the first process to need them)."""
    import psycopg

    conn = connect(url)
    try:
        ensure_schema(conn, PART, VERSION, DDL)
    except psycopg.Error as exc:
        conn.close()
        raise database_error(exc) from None
    except BaseException:
        conn.close()
        raise
    return conn


def checked_name(name: str) -> str:
    """A version or segment name read from the database, refused unless it is a plain folder name."""
    if not isinstance(name, str) or not _STORED_NAME.fullmatch(name):
        raise IndexCorruptError(f"the database names an index folder {str(name)[:60]!r}: refused")
    return name


def checked_file(name: str) -> str:
    """A segment file name read from the database, refused unless it stays inside its folder."""
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name) or ".." in name:
        raise IndexCorruptError(f"the database names a segment file {str(name)[:60]!r}: refused")
    return name
