"""What the set builders share: file names the engine accepts and idempotent corpus writing."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from index.corpus import render_markdown, slugify, write_if_changed
from measure.eval.dataset import DatasetError


@dataclass(frozen=True)
class Doc:
    """One corpus file to write: ``id`` becomes the file name (and so the engine's article id)."""

    id: str
    title: str
    body: str
    source: str
    url: str = ""
    published: date | None = None
    authors: tuple[str, ...] = field(default=())


def slug(text: str, limit: int = 60) -> str:
    """A file-name-safe stem (``x`` when the text has no usable characters)."""
    return slugify(text, limit) or "x"


def render(doc: Doc) -> str:
    """The document as a corpus file (the engine's one writer)."""
    return render_markdown(
        title=doc.title,
        source=doc.source,
        url=doc.url,
        published=doc.published,
        authors=doc.authors,
        body="\n" + doc.body.strip(),
    )


def write_corpus(docs: Iterable[Doc], corpus_dir: Path) -> int:
    """Write the documents, leaving unchanged files alone and removing stale ``.md`` files.

    Keeping untouched files byte-identical lets the engine's incremental build skip them, so a
    second ``policybot eval`` of the same set does not re-embed anything. Returns files written.
    """
    corpus_dir.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, str] = {}
    for doc in docs:
        name = f"{doc.id}.md"
        if name in wanted:
            raise DatasetError(f"two documents would share the file name {name}")
        wanted[name] = render(doc)
    written = sum(write_if_changed(corpus_dir / name, text) for name, text in wanted.items())
    for stale in corpus_dir.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    return written


def read_json(path: Path) -> Any:
    """Load a benchmark file with an error that says which file is missing or broken."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DatasetError(f"benchmark file not found: {path}") from exc
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read benchmark file {path}: {exc}") from exc
