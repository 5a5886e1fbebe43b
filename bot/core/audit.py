"""Append-only audit trail of index changes and refused moderator commands: JSON lines (one ``write``
per line on a file opened for appending, so concurrent writers never interleave and history is
never rewritten), or rows of ``pb_audit`` when a database is configured."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index import StateDb

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    entry TEXT NOT NULL
);
"""


class AuditLog:
    def __init__(self, path: Path, *, database_url: str | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: StateDb | None = None
        if database_url:
            self._db = StateDb(
                path=None, url=database_url, part="audit", version=1, schema=SCHEMA, names={"audit": "pb_audit"}
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(
        self, *, action: str, user_id: int | None, user: str | None, guild_id: int | None, **details: Any
    ) -> None:
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "action": action,
            "user_id": user_id,
            "user": user,
            "guild_id": guild_id,
            **details,
        }
        line = json.dumps(entry, ensure_ascii=False, default=str)
        with self._lock:
            if self._db is not None:
                self._db.execute("INSERT INTO audit (at, entry) VALUES (?, ?)", (entry["at"], line))
            else:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                try:
                    os.write(fd, (line + "\n").encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
        log.info("audit: %s by %s (%s) %s", action, user, user_id, details)

    async def awrite(self, **kwargs: Any) -> None:
        await asyncio.to_thread(lambda: self.write(**kwargs))

    def entries(self) -> list[dict[str, Any]]:
        """Every event, oldest first."""
        if self._db is not None:
            with self._lock:
                rows = self._db.execute("SELECT entry FROM audit ORDER BY id").fetchall()
            return [json.loads(r[0]) for r in rows]
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def close(self) -> None:
        if self._db is not None:
            with self._lock:
                self._db.close()
