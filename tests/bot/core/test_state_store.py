"""The SQLite stores open safely when several processes start at once."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from index.database._state import switch_to_wal as _switch_to_wal


class Flaky:
    """A connection whose WAL switch is refused ``busy`` times, as when replicas start together."""

    def __init__(self, busy: int, message: str = "database is locked") -> None:
        self.busy, self.message, self.calls = busy, message, 0

    def execute(self, sql: str) -> Any:
        self.calls += 1
        if self.calls <= self.busy:
            raise sqlite3.OperationalError(self.message)
        return None


def test_a_locked_wal_switch_is_retried() -> None:
    db = Flaky(busy=3)
    _switch_to_wal(db, seconds=5)  # type: ignore[arg-type]
    assert db.calls == 4


def test_a_wal_switch_locked_for_too_long_fails_with_the_error() -> None:
    db = Flaky(busy=10**6)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _switch_to_wal(db, seconds=0.2)  # type: ignore[arg-type]
    assert 2 <= db.calls < 50


def test_other_errors_are_not_retried() -> None:
    db = Flaky(busy=1, message="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _switch_to_wal(db, seconds=5)  # type: ignore[arg-type]
    assert db.calls == 1
