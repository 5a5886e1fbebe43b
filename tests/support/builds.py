"""Helpers around built indexes: the live version opened, and another process holding the build lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from index.settings import Settings
from index.store import _versions as versions
from index.store._segment import vector_limits
from index.store._snapshot import Snapshot
from tests.support import REPO


def live_snapshot(settings: Settings) -> Snapshot:
    """The version the data folder serves now, opened."""
    name = versions.current_version(settings.data_dir)
    assert name is not None
    return Snapshot(versions.versions_dir(settings.data_dir) / name, vector_limits(settings))


class LockHolder:
    """Another process holding the data folder's build lock (as a CLI build or the builder would)
    until the test releases it."""

    def __init__(self, data_dir: Path) -> None:
        script = (
            "import sys\nfrom pathlib import Path\nfrom index.store import _versions as versions\n"
            f"with versions.build_lock(Path({str(data_dir)!r})):\n"
            "    print('held', flush=True)\n    sys.stdin.readline()\n"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __enter__(self) -> LockHolder:
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "held"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.close()
        assert self.proc.wait() == 0
