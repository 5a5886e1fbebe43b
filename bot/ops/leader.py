"""Which process ingests and builds: the one holding ``<data>/leader.lock``, since two would fetch every
item twice and race for the build lock. An exclusive ``flock`` held for life: the kernel drops it
however the process dies, so a standby retrying the lock takes over with no stale-lock clean-up.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


class LeaderLock:
    """A non-blocking try-lock; :meth:`try_acquire` may be called again until it succeeds."""

    def __init__(self, path: Path, instance: str = "") -> None:
        self.path = path
        self.instance = instance
        self._fh: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._fh is not None

    def try_acquire(self) -> bool:
        """Take the lock if no other process holds it; True when this process is (now) the leader."""
        if self._fh is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held open for as long as we lead
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "instance": self.instance, "since": time.time()}) + "\n")
        fh.flush()
        self._fh = fh
        log.info("leader: this process (%s, pid %d) now ingests and builds", self.instance, os.getpid())
        return True

    def release(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def holder(self) -> dict[str, object] | None:
        """Who last took the lock (informational: the content outlives a dead leader)."""
        try:
            data = json.loads(self.path.read_text() or "null")
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None
