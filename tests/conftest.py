"""Shared fixtures: one embedding model per test session, and small corpora written by tests."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def embedder() -> Iterator[object]:
    """The real bundled all-MiniLM-L6-v2, loaded once (about 5 s)."""
    from index.models._embedder import Embedder

    yield Embedder()


def write_article(
    folder: Path,
    name: str,
    body: str,
    *,
    title: str | None = None,
    source: str = "test wire",
    published: str | None = "2022-03-01",
    url: str | None = None,
) -> Path:
    """Write one Markdown article with front matter (through the engine's one writer); returns its path."""
    from datetime import date

    from index.corpus._write import render_markdown, write_if_changed

    path = folder / f"{name}.md"
    write_if_changed(
        path,
        render_markdown(
            title=title or name.replace("-", " ").title(),
            source=source,
            url=url or "https://example.org/" + name,
            published=date.fromisoformat(published) if published else None,
            body=textwrap.dedent(body).strip(),
        ),
    )
    return path
