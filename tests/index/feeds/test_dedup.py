"""MinHash near-duplicates, the also_published_by fold, and the starter feed list."""

from __future__ import annotations

from pathlib import Path

from index.corpus import load_article
from index.corpus_write import render_markdown
from index.feeds.dedup import THRESHOLD, add_also_published_by, best_match, signature, similarity
from index.feeds.starter import install_starter_feeds, load_starter_feeds
from index.feeds.store import FeedStore

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
