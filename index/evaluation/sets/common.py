"""What the set builders share: file names the engine accepts and idempotent corpus writing."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from index.evaluation.dataset import DatasetError


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
    """ASCII, lowercase, hyphenated: a file name that is the same on every platform."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].rstrip("-") or "x"


def render(doc: Doc) -> str:
    """Markdown with YAML front matter, the corpus format the engine reads."""
    meta: dict[str, Any] = {"title": doc.title, "source": doc.source}
    if doc.url:
        meta["url"] = doc.url
    if doc.published:
        meta["published"] = doc.published.isoformat()
    if doc.authors:
        meta["authors"] = list(doc.authors)
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000).strip()
    return f"---\n{front}\n---\n\n{doc.body.strip()}\n"


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
    written = 0
    for name, text in wanted.items():
        path = corpus_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written += 1
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
