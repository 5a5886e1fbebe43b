"""The data folder's layout: versioned index builds, the ``CURRENT`` pointer and the build lock.

Readers follow only ``CURRENT``, which names only a verified, synced version, so a failed, killed or
power-cut build leaves the previous version serving. The folder tree: docs/design/store-layout.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from index import durability
from index.errors import BuildLockedError, PolicybotError

CURRENT = "CURRENT"
VERSIONS = "versions"
SEGMENTS = "segments"
LOCK = "build.lock"
PROGRESS = "build.progress.json"
TMP_PREFIX = ".tmp-"
OWED = "build-owed"
LEGACY_OWED = "feeds.build-owed"
"""The marker older versions left when a feed poll's build was owed (read as "walk the corpus")."""


def sync_path(path: Path) -> None:
    """fsync a file or folder by name (for files written by others: SQLite, numpy, faiss)."""
    if Path(path).is_dir():
        durability.fsync_dir(path)
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        durability.fsync_file(fd, Path(path))
    finally:
        os.close(fd)


def replace_durably(tmp: Path, dst: Path) -> None:
    """Move a finished file or folder into place so that after a crash or a power cut ``dst`` is
    the old one or the whole new one: sync ``tmp``, rename, sync the folder that holds both."""
    sync_path(tmp)
    os.replace(tmp, dst)
    durability.fsync_dir(Path(dst).parent)


def versions_dir(data_dir: Path) -> Path:
    return data_dir / VERSIONS


def current_version(data_dir: Path) -> str | None:
    """The live version's name, or None before the first build."""
    try:
        name = (data_dir / CURRENT).read_text().strip()
    except FileNotFoundError:
        return None
    return name or None


def pointer_stamp(data_dir: Path) -> tuple[int, int] | None:
    """A cheap fingerprint of ``CURRENT`` (inode, mtime): readers poll it to notice new builds."""
    try:
        st = os.stat(data_dir / CURRENT)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)


def next_version_name(data_dir: Path, others: Iterable[str] = ()) -> str:
    """A name after every local version's and ``others`` (the versions a database holds)."""
    existing = [p.name for p in versions_dir(data_dir).glob("v*") if p.is_dir()]
    return numbered_name("v", [*existing, *others])


def numbered_name(prefix: str, existing: Iterable[str]) -> str:
    numbers = [int(name[1:7]) for name in existing if name[1:7].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:06d}-{time.strftime('%Y%m%dT%H%M%S')}"


def segments_root(data_dir: Path) -> Path:
    return data_dir / SEGMENTS


def next_segment_name(data_dir: Path) -> str:
    return numbered_name("s", [p.name for p in segments_root(data_dir).glob("s*") if p.is_dir()])


def new_tmp_segment_dir(data_dir: Path) -> Path:
    path = segments_root(data_dir) / f"{TMP_PREFIX}{os.getpid()}-{time.time_ns()}"
    path.mkdir(parents=True)
    return path


def place_segment(data_dir: Path, tmp_dir: Path) -> str:
    """Move a finished segment to its permanent name (it counts only once a version names it)."""
    name = next_segment_name(data_dir)
    replace_durably(tmp_dir, segments_root(data_dir) / name)
    return name


def new_tmp_dir(data_dir: Path) -> Path:
    path = versions_dir(data_dir) / f"{TMP_PREFIX}{os.getpid()}-{time.time_ns()}"
    path.mkdir(parents=True)
    return path


def publish(data_dir: Path, tmp_dir: Path, name: str) -> Path:
    """Move a verified build into place and point ``CURRENT`` at it, both atomically and durably:
    the version folder (whose segments are already on the disk) before the pointer that names it."""
    final = versions_dir(data_dir) / name
    replace_durably(tmp_dir, final)
    pointer_tmp = data_dir / f"{CURRENT}.tmp"
    pointer_tmp.write_text(name + "\n")
    replace_durably(pointer_tmp, data_dir / CURRENT)
    return final


def prune(data_dir: Path, keep: int) -> None:
    """Remove stale temporary builds and all but the newest ``keep`` versions (never the live one).

    Processes still reading an old version keep working: their open files stay valid on POSIX.
    """
    live = current_version(data_dir)
    versions = sorted(p.name for p in versions_dir(data_dir).glob("v*") if p.is_dir())
    prune_to(data_dir, {*versions[max(0, len(versions) - keep) :], *([live] if live else [])})


def prune_to(data_dir: Path, wanted: set[str], *, temporary: bool = True) -> None:
    """Remove every version not in ``wanted``, the segments only they used and (``temporary``)
    stale temporary folders."""
    root = versions_dir(data_dir)
    if not root.is_dir():
        return
    for tmp in root.glob(f"{TMP_PREFIX}*") if temporary else ():
        shutil.rmtree(tmp, ignore_errors=True)
    for old in root.glob("v*"):
        if old.is_dir() and old.name not in wanted:
            shutil.rmtree(old, ignore_errors=True)
    _prune_segments(data_dir, temporary)


def _prune_segments(data_dir: Path, temporary: bool = True) -> None:
    """Remove segments no remaining version names, and stale partial ones (callers hold the lock)."""
    root = segments_root(data_dir)
    if not root.is_dir():
        return
    for tmp in root.glob(f"{TMP_PREFIX}*") if temporary else ():
        shutil.rmtree(tmp, ignore_errors=True)
    named: set[str] = set()
    for version in versions_dir(data_dir).glob("v*"):
        try:
            manifest = json.loads((version / "manifest.json").read_text())
            named.update(item["name"] for item in manifest.get("segments", []))
        except (OSError, ValueError, KeyError, TypeError):
            return  # an unreadable version: keep every segment rather than guess
    for segment in root.glob("s*"):
        if segment.is_dir() and segment.name not in named:
            shutil.rmtree(segment, ignore_errors=True)


@contextlib.contextmanager
def build_lock(data_dir: Path) -> Iterator[None]:
    """Exclusive, non-blocking: a second build (in any process) fails fast with its progress."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fh = open(data_dir / LOCK, "a+")  # noqa: SIM115 - held open for the lock's whole life
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLockedError(f"another build is already running ({read_progress_text(data_dir)})") from None
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                (data_dir / PROGRESS).unlink()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()


def write_progress(data_dir: Path, stage: str, done: int, total: int) -> None:
    tmp = data_dir / f"{PROGRESS}.tmp"
    tmp.write_text(json.dumps({"stage": stage, "done": done, "total": total, "pid": os.getpid()}))
    os.replace(tmp, data_dir / PROGRESS)


def read_progress(data_dir: Path) -> dict[str, object] | None:
    try:
        data = json.loads((data_dir / PROGRESS).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_progress_text(data_dir: Path) -> str:
    progress = read_progress(data_dir)
    if not progress:
        return "starting"
    return f"{progress.get('stage')}: {progress.get('done')}/{progress.get('total')}"


# ---- changes owed to the next build ---------------------------------------------------------
@dataclass(frozen=True)
class Owed:
    """What earlier corpus changes still need: the records to settle once a build has indexed
    them, and their files (None: one did not know its files, so the build walks the corpus)."""

    records: tuple[Path, ...]
    paths: tuple[Path, ...] | None


def owe(data_dir: Path, paths: Sequence[Path] | None) -> Path:
    """Record on the disk that the next build must look at ``paths`` (None: at the whole corpus)."""
    folder = data_dir / OWED
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        durability.fsync_dir(data_dir)
    name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}.json"
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps({"paths": None if paths is None else [str(p) for p in paths]}))
    replace_durably(tmp, folder / name)
    return folder / name


def owed(data_dir: Path) -> Owed:
    """Every change recorded and not yet settled (a record that cannot be read means "walk")."""
    records: list[Path] = []
    paths: list[Path] | None = []
    legacy = data_dir / LEGACY_OWED
    if legacy.exists():
        records.append(legacy)
        paths = None
    folder = data_dir / OWED
    for record in sorted(folder.glob("[0-9]*.json")) if folder.is_dir() else []:
        try:
            listed = json.loads(record.read_text())["paths"]
        except FileNotFoundError:
            continue  # settled meanwhile
        except (OSError, ValueError, KeyError, TypeError):
            listed = None
        records.append(record)
        if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
            paths = None
        elif paths is not None:
            paths.extend(Path(p) for p in listed)
    return Owed(tuple(records), None if paths is None else tuple(dict.fromkeys(paths)))


def settle(records: Iterable[Path]) -> None:
    """Forget records a published version has indexed (one that comes back after a power cut only
    makes the next build look at its files again)."""
    for record in records:
        record.unlink(missing_ok=True)


@contextlib.contextmanager
def owing(data_dir: Path, paths: Sequence[Path] | None) -> Iterator[list[Path]]:
    """Around one corpus change: owed before it starts (so a crash leaves it owed) and again with the
    files it wrote (the caller adds them to the yielded list), since a build may have read the first
    record meanwhile. A change refused before it wrote anything (a PolicybotError) owes nothing."""
    before = owe(data_dir, paths)
    written: list[Path] = []
    try:
        yield written
    except PolicybotError:
        settle([before])
        raise
    if paths is not None or written:
        owe(data_dir, [*(paths or ()), *written])
    settle([before])
