"""The shipped starter list of cybersecurity-policy feeds (``starter_feeds.toml``), all off by default.

TOML because it is in the standard library (``tomllib``), has comments, and moderators can read it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from index.feeds._store import FeedStore

STARTER_FILE = Path(__file__).resolve().parent / "starter_feeds.toml"


@dataclass(frozen=True)
class StarterFeed:
    """One entry of the starter list; ``kind`` is agency, regulator or outlet."""

    name: str
    url: str
    every_minutes: int
    kind: str
    enabled: bool


def load_starter_feeds(path: Path = STARTER_FILE) -> list[StarterFeed]:
    """The starter list (ValueError naming the entry when one is malformed)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    feeds: list[StarterFeed] = []
    for n, entry in enumerate(data.get("feed", []), 1):
        try:
            feeds.append(
                StarterFeed(
                    name=str(entry["name"]),
                    url=str(entry["url"]),
                    every_minutes=int(entry.get("every", 60)),
                    kind=str(entry.get("kind", "outlet")),
                    enabled=bool(entry.get("enabled", False)),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path.name}: feed #{n} is malformed ({exc})") from exc
    return feeds


def install_starter_feeds(store: FeedStore, *, now: datetime | None = None, path: Path = STARTER_FILE) -> list[str]:
    """Add the starter feeds the store does not have yet (as listed: off); returns the names added."""
    added: list[str] = []
    for feed in load_starter_feeds(path):
        if store.get_feed(feed.name) or store.get_feed(feed.url):
            continue
        store.add_feed(
            feed.url, name=feed.name, every_minutes=feed.every_minutes, enabled=feed.enabled, now=now, kind=feed.kind
        )
        added.append(feed.name)
    return added
