"""Corpus edits for the engine (``engine.corpus``), by article id: add an article file, remove one.

Each edit is owed to the next build before it touches the corpus, so a build refused, failed or
killed never loses it; ``Engine.build(changed=[])`` afterwards looks at just what is owed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from index.corpus._edit import add_article, find_article_file, move_to_trash, safe_filename
from index.corpus._read import article_id_for

Owing = Callable[[Sequence[Path] | None], AbstractContextManager[list[Path]]]
"""Records a change as owed around it and yields the list the change adds its files to
(:func:`index.store.owing` on the data folder)."""


class Corpus:
    """The article files under ``corpus_dir``; removed ones go to ``trash_dir`` (never deleted)."""

    def __init__(self, corpus_dir: Path, trash_dir: Path, owing: Owing) -> None:
        self.corpus_dir = corpus_dir
        self.trash_dir = trash_dir
        self._owing = owing

    def add_file(self, filename: str, data: bytes) -> str:
        """Validate an article file (.md/.txt/.html) with the build's own parser and add it; returns
        its article id. ArticleError says why a file is refused (nothing is written then)."""
        target = self.corpus_dir / safe_filename(filename)
        with self._owing([target]) as written:
            written.append(add_article(self.corpus_dir, filename, data))
        return article_id_for(written[-1])

    def remove(self, article_id: str) -> Path:
        """Move an article's file to the trash folder; returns where it went (to restore it)."""
        source = find_article_file(self.corpus_dir, article_id)
        with self._owing([source]):
            return move_to_trash(source, self.trash_dir)
