"""Storing one story, under the ingest lock and file before record: a URL already known is a
duplicate, a body MinHash-close to a stored one is folded into that file's ``also_published_by``,
anything else becomes a new Markdown file the build's own parser accepts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from index.corpus import CorpusStems, free_stem, parse_article, render_markdown, slugify, write_new
from index.errors import ArticleError
from index.feeds._dedup import THRESHOLD, add_also_published_by, best_match, signature
from index.feeds._reports import IngestResult
from index.feeds._store import FeedStore
from index.types import Article


@dataclass(frozen=True)
class Candidate:
    """An item ready to be stored: everything the front matter and dedup need."""

    title: str
    body: str
    source: str
    url: str
    published: date | None
    authors: tuple[str, ...]
    summary_only: bool
    feed: str | None
    guid: str | None

    @property
    def record_feed(self) -> str:
        """Feed name in the items table; ``""`` for pages added by URL (they have no feed)."""
        return self.feed or ""

    @property
    def record_guid(self) -> str:
        """Item id in the items table; a page added by URL is identified by its canonical URL."""
        return self.guid or self.url


def known_url(store: FeedStore, url: str, corpus_dir: Path) -> bool:
    """Whether the corpus already holds an article from ``url`` (by its canonical form)."""
    rel = store.path_for_url(url)
    return rel is not None and (corpus_dir / rel).exists()


def store_candidate(
    store: FeedStore,
    candidate: Candidate,
    corpus_dir: Path,
    folder: Path,
    *,
    now: datetime,
    stems: CorpusStems | None = None,
) -> IngestResult:
    """Fold, or write a new file, then record: under the ingest lock, file before record."""
    sig = signature(candidate.body)
    with store.ingest_lock():
        if candidate.feed and candidate.guid and store.item_seen(candidate.feed, candidate.guid):
            rel = store.path_for_url(candidate.url) if candidate.url else None
            return IngestResult("duplicate", corpus_dir / rel if rel else folder, candidate.title, candidate.url)
        if candidate.url and known_url(store, candidate.url, corpus_dir):
            rel = store.path_for_url(candidate.url)
            assert rel is not None
            store.record_item(
                feed=candidate.record_feed,
                guid=candidate.record_guid,
                canonical_url=candidate.url,
                path=rel,
                status="duplicate",
                now=now,
            )
            return IngestResult("duplicate", corpus_dir / rel, candidate.title, candidate.url)
        if sig is not None:
            folded = _try_fold(store, candidate, sig, corpus_dir, now=now)
            if folded is not None:
                return folded
        path, article = _write_article(candidate, corpus_dir, folder, now=now, stems=stems)
        stat = path.stat()
        store.record_item(
            feed=candidate.record_feed,
            guid=candidate.record_guid,
            canonical_url=candidate.url,
            path=path.relative_to(corpus_dir).as_posix(),
            status="added",
            now=now,
            article=(stat.st_mtime_ns, stat.st_size, sig),
        )
        return IngestResult("added", path, candidate.title, candidate.url, article=article)


def _try_fold(
    store: FeedStore, candidate: Candidate, sig: np.ndarray, corpus_dir: Path, *, now: datetime
) -> IngestResult | None:
    while True:
        match = best_match(sig, store.similar_signatures(sig), THRESHOLD)
        if match is None:
            return None
        target = corpus_dir / match.key
        if target.exists():
            break
        store.forget_articles([match.key])  # removed from the corpus since: not a home for copies
    try:
        add_also_published_by(target, candidate.source, candidate.url)
    except ArticleError:
        return None  # the existing file is not ours to rewrite (no front matter): store the copy itself
    stat = target.stat()
    store.record_item(
        feed=candidate.record_feed,
        guid=candidate.record_guid,
        canonical_url=candidate.url,
        path=match.key,
        status="folded",
        now=now,
        article=(stat.st_mtime_ns, stat.st_size, None),
    )
    return IngestResult("folded", target, candidate.title, candidate.url, match.score)


def _write_article(
    candidate: Candidate, corpus_dir: Path, folder: Path, *, now: datetime, stems: CorpusStems | None = None
) -> tuple[Path, Article]:
    """Write the candidate as a new Markdown file under a free name: the file and its article as
    the build will read it (parsed once, here, to refuse what the build would skip)."""
    text = render_markdown(
        title=candidate.title,
        body=candidate.body,
        source=candidate.source,
        url=candidate.url,
        published=candidate.published,
        authors=candidate.authors,
        extra={
            "feed": candidate.feed,
            "guid": candidate.guid,
            "fetched_at": now.isoformat(timespec="seconds"),
            "summary_only": candidate.summary_only,
        },
    )
    data = text.encode("utf-8")
    stem = slugify(candidate.title) or slugify(urlsplit(candidate.url).path) or "article"
    taken = stems if stems is not None else CorpusStems(corpus_dir)
    for _attempt in range(5):
        name = free_stem(folder, stem, taken)
        path = folder / f"{name}.md"
        article = parse_article(data, path, writing=True)
        try:
            written = write_new(path, data)
        except ArticleError:
            taken.add(name)  # written meanwhile by someone else: take the next free name
            continue
        taken.add(name)
        return written, article
    raise ArticleError(f"no free file name for {stem!r} in {folder}")
