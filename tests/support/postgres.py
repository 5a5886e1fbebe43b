"""A real PostgreSQL 16 with pgvector for the tests: ``pgserver`` starts one per session over a Unix
socket (no network), or ``POLICYBOT_TEST_DATABASE_URL`` names one started elsewhere. Each test gets a
database of its own, dropped afterwards. Where pgserver has no wheel (Python 3.13) the tests skip."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _server_url() -> Iterator[str]:
    given = os.environ.get("POLICYBOT_TEST_DATABASE_URL")
    if given:
        yield given
        return
    if sys.version_info >= (3, 13):
        pytest.skip("pgserver has no wheel for this Python; set POLICYBOT_TEST_DATABASE_URL to test PostgreSQL")
    import pgserver  # a missing pgserver where it installs is a failure, not a skip

    folder = Path(tempfile.mkdtemp(prefix="policybot-pg-"))
    server = pgserver.get_server(folder, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of the session's PostgreSQL server (its maintenance database)."""
    yield from _server_url()


def database_in(server_url: str, name: str) -> str:
    """``server_url`` pointed at database ``name`` (the path part of the URL)."""
    head, sep, query = server_url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}{sep}{query}"


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database with pgvector, dropped after the test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = database_in(postgres_server, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    try:
        yield url
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["files", "postgres"])
def state_url(request: pytest.FixtureRequest) -> str | None:
    """Each small store's test once on its SQLite file (None) and once on PostgreSQL (the URL)."""
    if request.param == "files":
        return None
    return str(request.getfixturevalue("postgres_url"))
