"""Crash scenario 2: ``policybot feeds poll --once`` SIGKILLed at seeded moments while a local feed grows;
no item is ingested twice or recorded without its file, and every story ends up indexed."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.reliability.crash_driver import article_text, check_index, choose, corpus_ids, run_child, write_article

WORDS = tuple(
    ["agency", "regulator", "minister", "parliament", "court", "bank", "exchange", "vendor", "hospital", "utility", "operator", "insurer", "breach", "ransomware", "phishing", "sanction", "fine", "directive", "statute", "guidance", "audit", "disclosure", "deadline", "encryption", "vulnerability", "patch", "firmware", "satellite", "pipeline", "grid", "telecom", "cloud", "chip", "drone", "election", "treaty", "alliance", "summit", "inquiry", "lawsuit", "penalty", "license", "export", "import", "tariff", "subsidy", "budget"]
)


def story(rng: random.Random, n: int) -> tuple[str, str]:
    """A feed story with its own vocabulary (distinct stories must not look like wire copies)."""
    words = rng.sample(WORDS, 24)
    sentences = [
        f"In report {n} the {words[i]} and the {words[i + 1]} discussed the {words[i + 2]} with officials."
        for i in range(0, 21, 3)
    ]
    return f"Story {n}: {words[0]} {words[1]}", " ".join(sentences) + f" Case number {n} closes the report."


def page_html(title: str, body: str) -> str:
    return (
        f"<html><head><title>{title}</title><meta property='article:published_time' content='2024-04-30'></head>"
        f"<body><article><h1>{title}</h1><p>{body}</p></article></body></html>"
    )


def feed_xml(base: str, items: list[tuple[str, str, str]]) -> str:
    entries = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><link>{base}/{guid}.html</link><title>{title}</title>"
        f"<pubDate>Tue, 30 Apr 2024 08:00:00 GMT</pubDate><description>{body}</description></item>"
        for guid, title, body in items
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Crash News</title><link>{base}/</link>{entries}</channel></rss>"


def feed_state(data: Path, corpus: Path) -> tuple[dict[str, int], dict[str, tuple[str, str | None]]]:
    """Corpus files per feed guid (front matter), and each recorded item's (status, file)."""
    import yaml

    files: Counter[str] = Counter()
    for path in (corpus / "feeds").rglob("*.md") if (corpus / "feeds").is_dir() else []:
        meta = yaml.safe_load(path.read_text().split("---")[1])
        files[str(meta.get("guid"))] += 1
    with contextlib.closing(sqlite3.connect(data / "feeds.sqlite")) as db:
        seen = {row[0]: (row[1], row[2]) for row in db.execute("SELECT guid, status, path FROM items")}
    return dict(files), seen


def check_feed_consistency(corpus: Path, files: dict[str, int], seen: dict[str, tuple[str, str | None]]) -> None:
    """No item twice in the corpus; every recorded item points at a file that exists."""
    assert all(c == 1 for c in files.values()), f"an item was ingested twice: {files}"
    for guid, (status, path) in seen.items():
        assert path is None or (corpus / path).is_file(), f"item {guid} ({status}) recorded without its file {path}"
        if status == "added":
            assert files.get(guid) == 1, f"item {guid} recorded as added but its file is missing"


def make_due(data: Path) -> None:
    """The harness's clock: the feed is due again (as if its interval had passed)."""
    with contextlib.closing(sqlite3.connect(data / "feeds.sqlite")) as db:
        db.execute("UPDATE feeds SET next_due = '2000-01-01T00:00:00+00:00'")
        db.commit()


def crash_feed_polls(root: Path, rng: random.Random, runs: int, env: dict[str, str]) -> dict[str, Any]:
    corpus, data, site = root / "feed-corpus", root / "feed-data", root / "site"
    site.mkdir(parents=True)
    for n in range(6):
        write_article(corpus, f"base{n}", *article_text(rng, n))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("feed server did not start")
            time.sleep(0.05)
        argv = ["feeds", "add", f"{base}/feed.xml", "--name", "Crash News", "--every", "5", "--data", str(data), "--corpus", str(corpus)]
        code, _, _ = run_child(argv, env, None, feed=True)
        assert code == 0, f"feeds add failed ({code})"
        poll = ["feeds", "poll", "--once", "--data", str(data), "--corpus", str(corpus)]
        items: list[tuple[str, str, str]] = []
        labels: Counter[str] = Counter()
        killed = 0
        live: str | None = None
        counts = {"feed: fetch": 2, "feed: corpus write": 2, "feed: record": 4}
        statuses: Counter[str] = Counter()
        counted: set[str] = set()
        for _run in range(runs):
            for _ in range(rng.randint(1, 3)):  # the feed grows by one to three stories
                n = 100 + len(items)
                title, body = story(rng, n)
                if n % 4 == 3 and items:  # a wire copy of the previous story: folded, not a new file
                    title, body = items[0][1] + " (wire)", "WASHINGTON (Wire) - " + items[0][2]
                guid = f"story-{n}"
                (site / f"{guid}.html").write_text(page_html(title, body))
                items.insert(0, (guid, title, body))
            (site / "feed.xml").write_text(feed_xml(base, items[:30]))
            # http.server's Last-Modified has one-second resolution: a feed rewritten within the same
            # second would rightly be answered 304; move its clock on as real time would.
            stamp = time.time() + 10 * (_run + 1)
            os.utime(site / "feed.xml", (stamp, stamp))
            make_due(data)
            code, label, _ = run_child(poll, env, choose(rng, counts), feed=True)
            files, seen = feed_state(data, corpus)
            check_feed_consistency(corpus, files, seen)
            if label is not None:
                killed += 1
                labels[label] += 1
                if (data / "CURRENT").exists():
                    live = check_index(data, corpus, live, None)
            guids = {g for g, _, _ in items}
            for _attempt in range(3):  # an item whose page fetch failed (a loaded machine) is retried next poll
                make_due(data)
                code, _, done_counts = run_child(poll, env, None, feed=True)  # the next poll completes
                assert code == 0, f"poll after the kill failed ({code})"
                counts = done_counts or counts  # the next poll does about as much (one to three new stories)
                files, seen = feed_state(data, corpus)
                check_feed_consistency(corpus, files, seen)
                if guids <= set(seen):
                    break
            if not guids <= set(seen):
                from index.feeds import FeedStore

                with FeedStore.open(data) as store:
                    why = [(f.name, f.last_error, f.consecutive_failures) for f in store.list_feeds()]
                raise AssertionError(f"items lost (never recorded): {guids - set(seen)}; feed state {why}")
            statuses.update(seen[g][0] for g in guids if g not in counted)
            counted.update(guids)
            live = check_index(data, corpus, live, corpus_ids(corpus))  # every story is indexed
        return {"runs": runs, "killed": killed, "kill_points": dict(sorted(labels.items())), "items": len(items), "item_outcomes": dict(statuses), "losses": 0}
    finally:
        server.kill()
        server.wait()
