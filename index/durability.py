"""fsync helpers with one test seam: every point where data becomes durable calls :data:`SYNC_HOOKS`.

Only a power cut shows a missing fsync, so tests hook each sync point to copy what the disk holds
then and check every copy opens (how: docs/design/store-layout.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SyncKind = Literal["file", "dir", "commit"]


@dataclass(frozen=True)
class SyncPoint:
    """What just became durable: a file's content, a directory's entries, or a database commit."""

    kind: SyncKind
    path: Path


SYNC_HOOKS: list[Callable[[SyncPoint], None]] = []
"""Called after each sync point, in order. Empty in production; tests append and remove."""


def synced(kind: SyncKind, path: Path) -> None:
    """Tell the hooks that ``path`` is durable now (for writers that sync by other means, e.g. SQLite)."""
    if SYNC_HOOKS:
        point = SyncPoint(kind, Path(path))
        for hook in list(SYNC_HOOKS):
            hook(point)


def fsync_file(fd: int, path: Path) -> None:
    """Flush an open file's content to disk (``path`` only names it for the hooks)."""
    os.fsync(fd)
    synced("file", path)


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries, so a file created, linked or renamed in it survives a power cut."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    synced("dir", Path(path))


def make_dirs(path: Path) -> None:
    """``mkdir -p`` whose new folders survive a power cut: each created folder's parent is synced."""
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    path.mkdir(parents=True, exist_ok=True)
    for created in reversed(missing):
        fsync_dir(created.parent)
