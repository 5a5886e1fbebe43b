"""The points where data reaches the disk: every fsync of a file or folder, and every atomic rename.

A rename is durable only once its folder is fsynced, and a file's bytes only once the file is;
after a power cut, anything else may be gone. Code that must survive one goes through here, and
``hooks`` (empty in production) let a test record each point to rebuild what a cut would leave.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

hooks: list[Callable[[str, Path], None]] = []
"""Called as ``hook(event, path)`` right after each point: ``"fsync_file"``, ``"fsync_dir"`` or
``"replace"`` (with the destination)."""


def _notify(event: str, path: Path) -> None:
    for hook in list(hooks):
        hook(event, path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Flush a file's bytes (written through any descriptor) to the disk."""
    _fsync(path)
    _notify("fsync_file", Path(path))


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries: the files created, renamed or removed in it."""
    _fsync(path)
    _notify("fsync_dir", Path(path))


def replace_atomically(tmp: Path, dst: Path) -> None:
    """Move a finished file or folder into place so that after a crash or power cut ``dst`` is
    either the old one or the whole new one: flush ``tmp``, rename, flush the folder."""
    tmp, dst = Path(tmp), Path(dst)
    (fsync_dir if tmp.is_dir() else fsync_file)(tmp)
    os.replace(tmp, dst)
    _notify("replace", dst)
    fsync_dir(dst.parent)
