"""Where the live version is kept: the data folder's ``CURRENT`` (the embedded default) or PostgreSQL.

The engine and the build ask only this interface; :func:`open_home` alone decides which one a
configuration gets, so nothing else learns which backend serves the index."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Protocol

from index.database import database_url
from index.settings import Settings
from index.store import _versions as versions


class IndexHome(Protocol):
    """The live pointer and the versions it may name, as seen from one data folder."""

    data_dir: Path

    def stamp(self) -> Hashable | None:
        """A cheap fingerprint of the live pointer: readers poll it to notice a new version."""
        ...

    def live(self) -> str | None:
        """The live version's name (None before the first build)."""
        ...

    def local(self, name: str) -> Path:
        """Version ``name``'s folder in the data folder, fetched and verified first if it is elsewhere."""
        ...

    def next_version_name(self) -> str: ...

    def publish(self, tmp_dir: Path, name: str) -> Path:
        """Make the verified version in ``tmp_dir`` live under ``name`` (all or nothing)."""
        ...

    def prune(self, keep: int) -> None:
        """Drop all but the newest ``keep`` versions (never the live one) and what only they use."""
        ...

    def sync_corpus(self, corpus_dir: Path, trash_dir: Path, paths: Sequence[Path] | None) -> list[Path]:
        """Share the corpus with other machines (``paths``: the files known to have changed here,
        None: look at all); returns the local files it wrote or removed."""
        ...

    def close(self) -> None: ...


class FileHome:
    """The embedded default: versions and ``CURRENT`` in the data folder (a shared volume for many bots)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def stamp(self) -> Hashable | None:
        return versions.pointer_stamp(self.data_dir)

    def live(self) -> str | None:
        return versions.current_version(self.data_dir)

    def local(self, name: str) -> Path:
        return versions.versions_dir(self.data_dir) / name

    def next_version_name(self) -> str:
        return versions.next_version_name(self.data_dir)

    def publish(self, tmp_dir: Path, name: str) -> Path:
        return versions.publish(self.data_dir, tmp_dir, name)

    def prune(self, keep: int) -> None:
        versions.prune(self.data_dir, keep)

    def sync_corpus(self, corpus_dir: Path, trash_dir: Path, paths: Sequence[Path] | None) -> list[Path]:
        return []  # one folder, or a shared volume: nothing to exchange

    def close(self) -> None:
        pass


def open_home(settings: Settings) -> IndexHome:
    """The home ``settings`` configure: PostgreSQL when ``POLICYBOT_DATABASE_URL`` is set, else files."""
    url = database_url(settings)
    if url is None:
        return FileHome(settings.data_dir)
    from index.store._pg_home import PgHome  # psycopg is loaded only when a database is configured

    return PgHome(url, settings.data_dir)
