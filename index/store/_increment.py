"""What a list of changed corpus files means for the live index, without walking the corpus.

The files that feeds and uploads write are known to the code that wrote them. Handing their paths
to the build turns "compare every file with the last build" (a stat per file: seconds at a million
files) into "look up these files' articles" (an indexed query per file): an increment then costs
in proportion to what changed. Anything this cannot decide on its own (no scan cache to say what a
deleted file held, an id that another file still claims) returns None, and the build falls back to
the full walk, which is always right.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from index.corpus import SUFFIXES, load_article
from index.errors import ArticleError
from index.store import _scan as corpus_scan
from index.store._scan import FileState
from index.store._snapshot import Snapshot
from index.types import Article


@dataclass
class Changes:
    """An increment: articles to embed, live rows it retires (global idx), files it skipped, and
    the scan-cache records to write once the new version is live."""

    embed: list[Article] = field(default_factory=list)
    retired: set[int] = field(default_factory=set)
    errors: list[tuple[str, str]] = field(default_factory=list)
    states: dict[str, FileState | None] = field(default_factory=dict)
    unchanged: int = 0
    fixed: set[str] = field(default_factory=set)
    """Corpus-relative names whose earlier "skipped" entry no longer applies."""


def plan_changes(previous: Snapshot, corpus_dir: Path, data_dir: Path, paths: Iterable[Path]) -> Changes | None:
    """The increment for ``paths`` (new, rewritten or deleted files), or None for a full walk."""
    root = str(corpus_dir)
    wanted: dict[str, str] = {}  # path as the corpus walk spells it -> name relative to the corpus
    for p in paths:
        rel = os.path.relpath(p, root)
        parts = rel.split(os.sep)
        if rel.startswith("..") or any(part.startswith(".") for part in parts):
            continue  # outside the corpus, or hidden: a walk would not see it either
        if os.path.splitext(rel)[1].lower() not in SUFFIXES or _under_linked_folder(root, parts[:-1]):
            continue
        wanted[os.path.join(root, rel)] = rel.replace(os.sep, "/")
    cached = corpus_scan.cached_states(data_dir, list(wanted))
    if cached is None:
        return None
    changes = Changes()
    new_ids: set[str] = set()
    for path, name in sorted(wanted.items()):
        changes.fixed.update((name, Path(name).stem))  # skipped entries name files, or ids
        old = cached.get(path)
        try:
            article = load_article(Path(path), corpus_dir)
            st = os.stat(path)
        except (OSError, ArticleError) as exc:
            if old is not None:  # deleted or now unreadable: the article it held leaves the index
                _retire(previous, changes, old.article_id, path)
            if os.path.lexists(path):  # unreadable, not deleted (a link to nothing is named too)
                changes.errors.append((name, str(exc.strerror if isinstance(exc, OSError) else exc)))
            changes.states[path] = None
            continue
        if old is not None and old.article_id != article.id:
            _retire(previous, changes, old.article_id, path)
        if article.id in new_ids:
            return None  # two changed files claim one id: the walk decides which one wins
        new_ids.add(article.id)
        idx = previous.find_live(article.id)
        if idx is not None:
            row = previous.articles[idx]
            if row.path != path and os.path.exists(row.path):
                return None  # another file still holds this id: a duplicate the walk reports
            if row.path == path and row.content_hash == article.content_hash:
                changes.unchanged += 1
                changes.states[path] = FileState(st.st_size, st.st_mtime_ns, article.id, article.content_hash)
                continue
            changes.retired.add(idx)
        changes.embed.append(article)
        changes.states[path] = FileState(st.st_size, st.st_mtime_ns, article.id, article.content_hash)
    return changes


def _under_linked_folder(root: str, folders: list[str]) -> bool:
    """Whether a folder on the way is a symbolic link (the walk never follows those either)."""
    here = root
    for folder in folders:
        here = os.path.join(here, folder)
        if os.path.islink(here):
            return True
    return False


def _retire(previous: Snapshot, changes: Changes, article_id: str, path: str) -> None:
    """Retire the live article that ``path`` held when it was last scanned (if it still does)."""
    idx = previous.find_live(article_id)
    if idx is not None and previous.articles[idx].path == path:
        changes.retired.add(idx)
