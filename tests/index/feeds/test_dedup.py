"""MinHash near-duplicates and their LSH index, the also_published_by fold, and the starter feed list."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from index.corpus._read import load_article
from index.corpus._write import render_markdown
from index.feeds._dedup import THRESHOLD, add_also_published_by, best_match, signature, similarity, to_blob
from index.feeds._fetch import FetchOptions
from index.feeds._poll import ingest_url
from index.feeds._starter import install_starter_feeds, load_starter_feeds
from index.feeds._store import FeedStore
from tests.support.local_server import LocalServer

STORY = (
    "The Cybersecurity and Infrastructure Security Agency on Thursday ordered federal civilian agencies to "
    "disconnect Ivanti Connect Secure and Policy Secure appliances within 48 hours, after reports that "
    "several vulnerabilities were being exploited by multiple threat actors. Agencies must rebuild the devices "
    "from clean images and reset credentials before reconnecting them, the agency said in a supplemental "
    "direction to its emergency directive. Officials said the order covered roughly two dozen agencies that "
    "run the affected products, and that CISA would help smaller agencies that lack the staff to do the work."
)
COPY = (
    "WASHINGTON (Reuters) - The Cybersecurity and Infrastructure Security Agency on Thursday told federal "
    "civilian agencies to disconnect Ivanti Connect Secure and Policy Secure appliances within 48 hours, after reports that "
    "several vulnerabilities were being exploited by multiple threat actors. Officials said the order covered roughly two dozen agencies that "
    "run the affected products. Agencies must rebuild the devices "
    "from clean images and reset credentials before reconnecting them, the agency said in a supplemental "
    "direction to its emergency directive.\n\nReporting by Jane Doe; Editing by John Smith"
)
OTHER = (
    "European lawmakers reached a provisional agreement on the Cyber Resilience Act, which will require makers "
    "of connected products to handle vulnerabilities for the expected lifetime of the product and to report "
    "actively exploited flaws to the EU cybersecurity agency within 24 hours. The rules cover everything from "
    "baby monitors to industrial software, and manufacturers will have three years to comply once the act "
    "enters into force, negotiators said after talks that ran late into the night in Brussels."
)


def test_wire_copy_is_near_duplicate_other_story_is_not() -> None:
    a, b, c = signature(STORY), signature(COPY), signature(OTHER)
    assert a is not None and b is not None and c is not None
    assert similarity(a, b) >= THRESHOLD
    assert similarity(a, c) < 0.1
    match = best_match(b, [("other.md", c), ("story.md", a)])
    assert match is not None and match.key == "story.md"
    assert best_match(c, [("story.md", a)]) is None
    assert signature("too short to compare") is None


def test_fold_adds_also_published_by_once(tmp_path: Path) -> None:
    path = tmp_path / "story.md"
    path.write_text(
        render_markdown(
            title="CISA orders Ivanti disconnect",
            body="By Jane Roe\n\n" + STORY,
            source="The Record",
            url="https://therecord.example/ivanti",
            authors=["Jane Roe"],
            extra={"feed": "The Record", "guid": "r-1", "summary_only": False},
        )
    )
    before = load_article(path)
    assert add_also_published_by(path, "Reuters", "https://reuters.example/ivanti")
    assert not add_also_published_by(path, "Reuters", "https://reuters.example/ivanti")  # idempotent
    assert add_also_published_by(path, "AP", "https://ap.example/ivanti")
    text = path.read_text()
    assert "also_published_by:\n- source: Reuters\n  url: https://reuters.example/ivanti\n- source: AP" in text
    after = load_article(path)
    assert (after.title, after.text, after.url, after.authors) == (
        before.title,
        before.text,
        before.url,
        before.authors,
    )
    assert "guid: r-1" in text and "summary_only: false" in text


def test_starter_feeds_are_real_and_off(tmp_path: Path) -> None:
    feeds = load_starter_feeds()
    assert len(feeds) >= 12
    assert all(f.url.startswith("https://") and not f.enabled for f in feeds)
    assert {"agency", "regulator", "outlet"} <= {f.kind for f in feeds}
    with FeedStore.open(tmp_path) as store:
        added = install_starter_feeds(store)
        assert len(added) == len(feeds) and install_starter_feeds(store) == []
        assert not any(f.enabled for f in store.list_feeds())
        assert store.due_feeds(store.list_feeds()[0].next_due) == []  # off: never polled


# ---- the LSH index (issue 19): same decisions as the full comparison, without reading every signature --
def _text(rng: random.Random, vocabulary: list[str], words: int = 120) -> list[str]:
    return [rng.choice(vocabulary) for _ in range(words)]


def _edited(rng: random.Random, words: list[str], vocabulary: list[str], rate: float) -> list[str]:
    """A copy with about ``rate`` of its words replaced, dropped or doubled (an outlet's rewrite)."""
    out: list[str] = []
    for word in words:
        roll = rng.random()
        if roll < rate / 3:
            out.append(rng.choice(vocabulary))
        elif roll < 2 * rate / 3:
            continue
        elif roll < rate:
            out += [word, rng.choice(vocabulary)]
        else:
            out.append(word)
    return out


def _store_with(tmp_path: Path, articles: dict[str, np.ndarray], database_url: str | None = None) -> FeedStore:
    from index.feeds._store import ArticleRecord

    store = FeedStore.open(tmp_path / "data", database_url)
    store.record_articles(ArticleRecord(path, f"https://x.example/{path}", 1, 1, sig) for path, sig in articles.items())
    return store


def test_lsh_candidates_give_the_same_decisions_as_comparing_every_signature(
    tmp_path: Path, state_url: str | None
) -> None:
    rng = random.Random(19)
    vocabulary = [f"w{n}" for n in range(3000)]
    bases = {f"story-{n}.md": _text(rng, vocabulary) for n in range(200)}
    stored = {path: signature(" ".join(words)) for path, words in bases.items()}
    assert all(sig is not None for sig in stored.values())
    signatures = {path: sig for path, sig in stored.items() if sig is not None}
    queries = [_edited(rng, bases[f"story-{n % 200}.md"], vocabulary, (n % 12) * 0.05) for n in range(300)]
    queries += [_text(rng, vocabulary) for _ in range(100)]  # new stories: no match
    with _store_with(tmp_path, signatures, state_url) as store:
        decisions = {"match": 0, "none": 0}
        for words in queries:
            sig = signature(" ".join(words))
            assert sig is not None
            full = best_match(sig, signatures.items(), THRESHOLD)
            indexed = best_match(sig, store.similar_signatures(sig), THRESHOLD)
            assert indexed == full
            decisions["match" if full else "none"] += 1
    assert decisions["match"] > 100 and decisions["none"] > 100  # both sides of the threshold were exercised


def test_a_wire_copy_is_found_without_reading_every_stored_signature(
    server: LocalServer, tmp_path: Path, corpus: Path, opts: FetchOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of stored signatures (written as an older version would, so opening the store also
    builds its LSH rows); folding one wire copy decodes only the few candidates' signatures."""
    import index.feeds._store as store_module
    from index.corpus._write import render_markdown
    from tests.support.feeds import page

    (corpus / "cisa-ivanti.md").write_text(
        render_markdown(title="CISA Ivanti directive", body=STORY, source="The Record", url="https://x.example/ivanti")
    )
    rng = np.random.default_rng(19)
    FeedStore.open(tmp_path / "data").close()
    with sqlite3.connect(tmp_path / "data" / "feeds.sqlite") as db:
        rows = [(f"synthetic/{n}.md", f"https://x.example/{n}", 1, 1, to_blob(rng.integers(0, 2**32, 128, dtype=np.uint64))) for n in range(3000)]
        story = signature(STORY)
        assert story is not None
        rows.append(("cisa-ivanti.md", "https://x.example/ivanti", 1, 1, to_blob(story)))
        db.executemany("INSERT INTO articles (path, canonical_url, mtime_ns, size, signature) VALUES (?, ?, ?, ?, ?)", rows)
        db.execute("PRAGMA user_version = 0")
    server.text("/wire", page("US tells agencies to unplug Ivanti devices", [COPY]))
    decoded: list[int] = []
    real_from_blob = store_module.from_blob

    def counting(blob: bytes) -> np.ndarray:
        decoded.append(1)
        return real_from_blob(blob)

    with FeedStore.open(tmp_path / "data") as store:
        store.synced_at = datetime.now(UTC)  # the 3000 synthetic paths have no files: keep them (no sync)
        monkeypatch.setattr(store_module, "from_blob", counting)
        result = ingest_url(server.url("/wire"), corpus, store, options=opts, now=store.synced_at)
    assert result.status == "folded" and result.path == corpus / "cisa-ivanti.md"
    assert 1 <= len(decoded) <= 10, len(decoded)


def test_lsh_rows_follow_the_articles(tmp_path: Path) -> None:
    """Replacing, re-recording and forgetting articles leaves exactly one LSH row per band of each
    stored signature (no stale candidates, none missing)."""
    from index.feeds._dedup import BANDS

    sig_a, sig_b = signature(STORY), signature(OTHER)
    assert sig_a is not None and sig_b is not None
    with FeedStore.open(tmp_path / "data") as store:
        store.record_article("a.md", canonical_url="https://x/a", mtime_ns=1, size=1, sig=sig_a)
        store.record_article("b.md", canonical_url="https://x/b", mtime_ns=1, size=1, sig=sig_b)
        store.record_article("a.md", canonical_url="https://x/a", mtime_ns=2, size=2, sig=sig_b)  # rewritten
        store.record_article("c.md", canonical_url="https://x/c", mtime_ns=1, size=1, sig=None)  # too short
        assert sorted(p for p, _ in store.similar_signatures(sig_b)) == ["a.md", "b.md"]
        assert store.similar_signatures(sig_a) == []
        store.forget_articles(["b.md", "c.md"])
        assert [p for p, _ in store.similar_signatures(sig_b)] == ["a.md"]
    with sqlite3.connect(tmp_path / "data" / "feeds.sqlite") as db:
        assert db.execute("SELECT count(*) FROM article_bands").fetchone()[0] == BANDS
        assert {r[0] for r in db.execute("SELECT DISTINCT article FROM article_bands")} == {
            r[0] for r in db.execute("SELECT rowid FROM articles WHERE path = 'a.md'")
        }
