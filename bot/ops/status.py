"""Each process's status, ``<data>/status/<instance>.json`` or a ``pb_heartbeat`` row, refreshed by a
heartbeat: ``policybot health`` runs as another process and cannot ask the bot, and a status that
stops being refreshed means a hung or dead process."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from bot.config import BotSettings
from index import StateDb

log = logging.getLogger(__name__)


@dataclass
class Status:
    """What a process says about itself; ``connected`` is None for a process without a gateway."""

    instance: str
    role: str  # "bot" or "builder"
    pid: int = field(default_factory=os.getpid)
    leader: bool = False
    connected: bool | None = None
    shard_ids: list[int] | None = None
    shard_count: int | None = None
    index_version: str | None = None
    started_at: float = field(default_factory=time.time)
    heartbeat_at: float = 0.0
    host: str = field(default_factory=socket.gethostname)  # its pid means something on this host only

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Status:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)  # type: ignore[arg-type]


def status_path(status_dir: Path, instance: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in instance) or "default"
    return status_dir / f"{safe}.json"


def write_status(status_dir: Path, status: Status) -> Path:
    """Atomic (write, then rename), so a reader never sees half a file."""
    status_dir.mkdir(parents=True, exist_ok=True)
    path = status_path(status_dir, status.instance)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(asdict(status)))
    os.replace(tmp, path)
    return path


def read_status(path: Path) -> Status | None:
    try:
        return _parse(path.read_text())
    except FileNotFoundError:
        return None


def all_statuses(status_dir: Path) -> list[Status]:
    found = (read_status(p) for p in sorted(status_dir.glob("*.json")))
    return [s for s in found if s is not None]


class StatusBoard(Protocol):
    """Where the statuses are kept: the data folder's files, or the database's table."""

    def write(self, status: Status) -> None: ...

    def read(self, instance: str) -> Status | None: ...

    def all(self) -> list[Status]: ...

    def remove(self, instance: str) -> None: ...


class FileBoard:
    """One JSON file per instance in ``status_dir``."""

    def __init__(self, status_dir: Path) -> None:
        self.status_dir = status_dir

    def write(self, status: Status) -> None:
        write_status(self.status_dir, status)

    def read(self, instance: str) -> Status | None:
        return read_status(status_path(self.status_dir, instance))

    def all(self) -> list[Status]:
        return all_statuses(self.status_dir)

    def remove(self, instance: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            status_path(self.status_dir, instance).unlink()


HEARTBEAT_SCHEMA = """
CREATE TABLE IF NOT EXISTS heartbeat (
    instance TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    heartbeat_at REAL NOT NULL
);
"""


class DatabaseBoard:
    """One row per instance in ``pb_heartbeat``; thread-safe (the heartbeat writes from its thread)."""

    def __init__(self, url: str) -> None:
        self._lock = threading.Lock()
        self._db = StateDb(
            path=None, url=url, part="heartbeat", version=1, schema=HEARTBEAT_SCHEMA, names={"heartbeat": "pb_heartbeat"}
        )

    def write(self, status: Status) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO heartbeat VALUES (?, ?, ?) ON CONFLICT(instance) "
                "DO UPDATE SET status = excluded.status, heartbeat_at = excluded.heartbeat_at",
                (status.instance, json.dumps(asdict(status)), status.heartbeat_at),
            )

    def read(self, instance: str) -> Status | None:
        with self._lock:
            row = self._db.execute("SELECT status FROM heartbeat WHERE instance = ?", (instance,)).fetchone()
        return _parse(row[0]) if row else None

    def all(self) -> list[Status]:
        with self._lock:
            rows = self._db.execute("SELECT status FROM heartbeat ORDER BY instance").fetchall()
        return [s for s in (_parse(r[0]) for r in rows) if s is not None]

    def remove(self, instance: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM heartbeat WHERE instance = ?", (instance,))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _parse(text: str) -> Status | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return Status.from_dict(data) if isinstance(data, dict) else None


def status_board(settings: BotSettings) -> StatusBoard:
    """The database's table when one is configured, else the data folder's status files."""
    url = settings.database
    return DatabaseBoard(url) if url is not None else FileBoard(settings.status_dir)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def problem(status: Status, max_age: float, *, now: float | None = None) -> str | None:
    """Why this process is unhealthy, in one line; None when it is fine."""
    age = (now or time.time()) - status.heartbeat_at
    if status.host == socket.gethostname() and not pid_alive(status.pid):
        return f"{status.instance}: process {status.pid} is not running"
    if age > max_age:
        return f"{status.instance}: no heartbeat for {age:.0f} s (limit {max_age:.0f} s)"
    if status.connected is False:
        return f"{status.instance}: the Discord gateway is not connected"
    return None


class Heartbeat:
    """Writes ``snapshot()`` every ``interval`` seconds from a daemon thread (so a long build or a
    busy event loop cannot delay it), and removes the status on a clean stop."""

    def __init__(self, board: StatusBoard, snapshot: Callable[[], Status], interval: float) -> None:
        self.board = board
        self.snapshot = snapshot
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._instance: str | None = None

    def beat(self) -> None:
        try:
            status = self.snapshot()
            status.heartbeat_at = time.time()
            self.board.write(status)
            self._instance = status.instance
        except Exception:
            log.warning("could not write the status", exc_info=True)

    def start(self) -> None:
        self.beat()
        self._thread = threading.Thread(target=self._run, name="status-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._instance is not None:
            try:
                self.board.remove(self._instance)
            except Exception:
                log.warning("could not remove the status", exc_info=True)
