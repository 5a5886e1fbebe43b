"""Fixtures for the feed tests: a local server per test (``tests/support/local_server.py``), fetch
options for it, a feed store (on each backend) and a corpus folder; the guard lets only ``index/feeds/_fetch.py`` connect.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from index.feeds._fetch import FetchOptions
from index.feeds._store import FeedStore
from tests.support.local_server import LocalServer, only_fetch_connects, run_server

__all__ = ["only_fetch_connects"]  # autouse: only index/feeds/_fetch.py connects


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with run_server() as state:
        yield state


@pytest.fixture
def opts() -> FetchOptions:
    """Local tests reach 127.0.0.1, so private addresses are allowed; limits are short."""
    return FetchOptions(allow_private=True, connect_timeout=2, read_timeout=2, deadline=5, max_bytes=200_000)


@pytest.fixture
def store(tmp_path: Path, state_url: str | None) -> Iterator[FeedStore]:
    """The feed state on its SQLite file and again on PostgreSQL."""
    s = FeedStore.open(tmp_path / "data", state_url)
    yield s
    s.close()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus"
    path.mkdir()
    return path
