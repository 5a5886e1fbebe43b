"""Append-only audit trail of index changes and refused moderator commands (JSON lines).

One line per event, written with a single ``write`` on a file opened for appending, so
concurrent writers never interleave inside a line and history is never rewritten.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class AuditLog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()

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
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        log.info("audit: %s by %s (%s) %s", action, user, user_id, details)

    async def awrite(self, **kwargs: Any) -> None:
        await asyncio.to_thread(lambda: self.write(**kwargs))

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
