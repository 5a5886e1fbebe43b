"""Articles the tests write into a corpus folder, and the small stories several suites share."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

from index.corpus._write import render_markdown, write_if_changed

STORIES = {
    "pipeline": "The pipeline operator shut its network after a ransomware attack. The company paid a ransom "
    "of $4.4 million. Fuel shortages spread along the East Coast.",
    "meatpacker": "The meat processor was hit by ransomware and closed plants. It paid $11 million in bitcoin. "
    "Plants in Australia and Canada also stopped.",
    "directive": "The agency ordered pipeline owners to report cyber incidents within 12 hours. Owners must "
    "name a cybersecurity coordinator. The directive took effect at once.",
}

TOPICS = ["ransomware", "pipeline", "election", "satellite", "hospital", "bank", "water", "port", "grid", "school"]


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


def story(n: int, version: int = 0) -> str:
    """Story ``n``; a later ``version`` of it changes two of its numbers."""
    topic = TOPICS[n % len(TOPICS)]
    return (
        f"Report {n} covers a {topic} incident in district {n + version}. Investigators from agency {n} "
        f"named group {n * 7 + version} as responsible. The {topic} operator restored service after {n} days."
    )
