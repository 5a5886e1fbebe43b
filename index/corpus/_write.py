"""The one writer of corpus files: Markdown with YAML front matter, file names, atomic writes.

Every caller that puts an article into a corpus folder goes through here, so every file the loader
reads has the same shape and none is ever seen half-written.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Container, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from index.corpus._read import SUFFIXES
from index.durability import fsync_dir, fsync_file, make_dirs
from index.errors import ArticleError

MAX_STEM = 80


def slugify(text: str, limit: int = MAX_STEM) -> str:
    """ASCII, lower-case, hyphenated: a file name that is the same on every platform ('' if none)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].rstrip("-")


def render_markdown(
    *,
    title: str,
    body: str,
    source: str = "",
    url: str = "",
    published: date | None = None,
    authors: Sequence[str] = (),
    tags: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> str:
    """An article file's text: front matter (known fields first, then ``extra``), a blank line, the body.

    The body is written as given (only its trailing whitespace is normalised), so an article's
    own words, captions and bylines included, survive the round trip through the loader.
    """
    meta: dict[str, Any] = {"title": " ".join(title.split())}
    if source:
        meta["source"] = source
    if url:
        meta["url"] = url
    if published:
        meta["published"] = published.isoformat()
    if authors:
        meta["authors"] = list(authors)
    if tags:
        meta["tags"] = list(tags)
    for key, value in (extra or {}).items():
        if key in meta:
            raise ValueError(f"front matter field {key!r} given twice")
        if value not in (None, "", [], ()):
            meta[key] = value
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000).strip()
    return f"---\n{front}\n---\n{body.rstrip()}\n"


def write_new(path: Path, data: bytes) -> Path:
    """Create ``path`` with ``data`` atomically and durably; never replaces an existing file (ArticleError).

    Durable before it returns (content, then the folder entry), so a caller may record the file
    as written: after a power cut the record never points at a missing or empty file.
    """
    make_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # hidden: the loader skips it
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            fsync_file(fh.fileno(), tmp)
        try:
            os.link(tmp, path)  # unlike rename, a hard link never replaces an existing file
        except FileExistsError as exc:
            raise ArticleError(f"an article file named {path.name} already exists") from exc
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return path


def write_if_changed(path: Path, text: str, *, durable: bool = False) -> bool:
    """Write ``text`` atomically unless the file already holds exactly it (keeps incremental builds cheap);
    returns whether anything was written. ``durable`` also syncs file and folder, for callers that record
    the change elsewhere next (bulk generators leave it off: an fsync per file is slow)."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    if durable:
        make_dirs(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        if durable:
            fh.flush()
            fsync_file(fh.fileno(), tmp)
    os.replace(tmp, path)
    if durable:
        fsync_dir(path.parent)
    return True


class CorpusStems(Container[str]):
    """The article ids (file stems) a corpus uses, answered by name: a stem is taken when a file with it
    and an article suffix exists in a corpus folder. Folders are listed once, then a few names checked
    per stem, since listing every file per article written is slow at a million files."""

    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = corpus_dir
        self._folders: list[str] | None = None
        self._added: set[str] = set()

    def _list_folders(self) -> list[str]:
        if self._folders is None:
            found = []
            for folder, dirs, _files in os.walk(self.corpus_dir):
                dirs[:] = [d for d in dirs if not d.startswith(".")]  # the loader skips hidden folders
                found.append(folder)
            self._folders = found
        return self._folders

    def __contains__(self, stem: object) -> bool:
        if not isinstance(stem, str):
            return False
        if stem in self._added:
            return True
        names = [stem + suffix for suffix in SUFFIXES] + [stem + suffix.upper() for suffix in SUFFIXES]
        return any(os.path.exists(os.path.join(folder, name)) for folder in self._list_folders() for name in names)

    def add(self, stem: str) -> None:
        """A stem written (or found taken) since the folders were listed."""
        self._added.add(stem)


def free_stem(folder: Path, stem: str, taken: Container[str] | None = None) -> str:
    """``stem``, or ``stem-2``, ``stem-3``… : the first name no article in ``folder`` uses."""
    used = taken if taken is not None else {p.stem for p in folder.glob("*") if p.is_file()}
    name, n = stem, 2
    while name in used:
        name = f"{stem}-{n}"
        n += 1
    return name
