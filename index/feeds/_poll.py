"""Feed items and single pages become corpus files (fetch → extract → dedup → one Markdown file per
story), each written before the store records it. It never builds the index, and one bad item or
feed never stops the others: its error is reported and the poll goes on."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from index.corpus import CorpusStems, Extracted, extract_article, iter_corpus_files, load_article, slugify
from index.errors import ArticleError
from index.feeds._dedup import read_front_matter, signature
from index.feeds._fetch import FetchError, FetchOptions, Resolver, RetryLater, fetch
from index.feeds._ingest import Candidate, known_url, store_candidate
from index.feeds._parse import FeedItem, FeedParseError, parse_feed
from index.feeds._reports import FeedReport, FoldedCopy, IngestResult, NewArticle, PollReport
from index.feeds._store import DEFAULT_ALERT_AFTER, FeedError, FeedState, FeedStore, utcnow
from index.feeds._urls import canonical_url

log = logging.getLogger(__name__)
FEEDS_FOLDER = "feeds"
ADDED_FOLDER = "added"
MAX_ITEMS_PER_POLL = 100
MIN_SUMMARY_WORDS = 5  # the corpus loader refuses fewer


# --- corpus sync (crash recovery and hand-added files) -------------------------------------


def sync_corpus(store: FeedStore, corpus_dir: Path, *, now: datetime | None = None) -> int:
    """Record corpus files the store does not know (or that changed), forget gone ones; returns the count.

    Crash recovery: a file's front matter names its feed item, so it is never written twice; hand-added
    files get a signature so their wire copies fold. Unreadable files are left to the build to report.
    """
    moment = now or utcnow()
    known = store.known_articles()
    present: set[str] = set()
    recorded = 0
    if not corpus_dir.is_dir():
        return 0
    for path in iter_corpus_files(corpus_dir):
        rel = path.relative_to(corpus_dir).as_posix()
        present.add(rel)
        try:
            stat = path.stat()
        except OSError:
            continue  # a link to nothing: the build names it
        old = known.get(rel)
        if old and old.mtime_ns == stat.st_mtime_ns and old.size == stat.st_size:
            continue
        try:
            article = load_article(path, corpus_dir)
        except ArticleError:
            continue
        url = canonical_url(article.url) if article.url else ""
        store.record_article(
            rel, canonical_url=url, mtime_ns=stat.st_mtime_ns, size=stat.st_size, sig=signature(article.text)
        )
        recorded += 1
        if path.suffix.lower() in (".md", ".markdown"):
            try:
                meta, _ = read_front_matter(path)
            except ArticleError:
                continue
            feed, guid = meta.get("feed"), meta.get("guid")
            if feed and guid and not store.item_seen(str(feed), str(guid)):
                store.record_item(
                    feed=str(feed), guid=str(guid), canonical_url=url, path=rel, status="added", now=moment
                )
    gone = [p for p in known if p not in present]
    if gone:
        store.forget_articles(gone)
    return recorded


SYNC_EVERY = timedelta(hours=1)
"""How often polls compare the whole corpus with the store: it stats every file, while what it
catches is rare (a crash between writing and recording a file, synced on the next process's
first poll anyway, and hand-added files)."""


def _sync_if_due(store: FeedStore, corpus_dir: Path, moment: datetime) -> None:
    if store.synced_at is not None and timedelta(0) <= moment - store.synced_at < SYNC_EVERY:
        return
    with store.ingest_lock():
        sync_corpus(store, corpus_dir, now=moment)
    store.synced_at = moment


# --- polling -------------------------------------------------------------------------------


def poll_due(
    store: FeedStore,
    corpus_dir: Path,
    *,
    now: datetime | None = None,
    options: FetchOptions | None = None,
    max_items: int = MAX_ITEMS_PER_POLL,
    resolver: Resolver | None = None,
    alert_after: int = DEFAULT_ALERT_AFTER,
) -> PollReport:
    """Poll every enabled feed whose time has come (see the module docstring); never raises for a
    bad feed or page: each failure is in the report and in the feed's ``last_error``, and the
    ``alert_after``-th failure in a row owes the moderators an alert (``FeedStore.pending_alerts``)."""
    moment = now or utcnow()
    report = PollReport(started=moment)
    due = store.due_feeds(moment)
    if not due:
        return report
    _sync_if_due(store, corpus_dir, moment)
    for feed in due:
        report.feeds.append(
            _poll_contained(
                store, feed, corpus_dir, now=moment, options=options, max_items=max_items, resolver=resolver,
                alert_after=alert_after,
            )
        )
    return report


def _poll_contained(
    store: FeedStore,
    feed: FeedState,
    corpus_dir: Path,
    *,
    now: datetime,
    options: FetchOptions | None,
    max_items: int,
    resolver: Resolver | None,
    alert_after: int = DEFAULT_ALERT_AFTER,
) -> FeedReport:
    """:func:`_poll_one`, with anything it raises recorded as the feed's failure instead of ending the poll."""
    try:
        return _poll_one(
            store, feed, corpus_dir, now=now, options=options, max_items=max_items, resolver=resolver,
            alert_after=alert_after,
        )
    except Exception as exc:  # a bug or an input nobody foresaw: this feed fails, the others are polled
        log.exception("feeds: polling %r failed unexpectedly", feed.name)
        error = f"unexpected {type(exc).__name__}: {exc}"
        try:
            store.record_failure(feed.name, now=now, error=error, alert_after=alert_after)
        except Exception:  # the store itself is failing: still report, never stop the other feeds
            log.exception("feeds: could not record the failure of %r", feed.name)
        return FeedReport(feed=feed.name, status="failed", error=error)


def _poll_one(
    store: FeedStore,
    feed: FeedState,
    corpus_dir: Path,
    *,
    now: datetime,
    options: FetchOptions | None,
    max_items: int,
    resolver: Resolver | None,
    alert_after: int = DEFAULT_ALERT_AFTER,
) -> FeedReport:
    report = FeedReport(feed=feed.name)
    stems = CorpusStems(corpus_dir)  # lists the corpus folders once, and only if an item is written
    try:
        result = fetch(
            feed.url, kind="feed", options=options, etag=feed.etag, last_modified=feed.last_modified, resolver=resolver
        )
        if result.not_modified:
            store.record_success(
                feed.name, now=now, etag=result.etag, last_modified=result.last_modified, not_modified=True
            )
            report.status = "not_modified"
            return report
        parsed = parse_feed(result.body)
    except (FetchError, FeedParseError) as exc:
        retry_after = exc.retry_after if isinstance(exc, RetryLater) else None
        store.record_failure(feed.name, now=now, error=str(exc), retry_after=retry_after, alert_after=alert_after)
        report.status, report.error = "failed", str(exc)
        return report
    items = list(parsed.items)
    complete = len(items) <= max_items
    for item in reversed(items[:max_items]):  # oldest first: the first outlet to run a story is its home
        try:
            _ingest_item(
                store, feed, item, corpus_dir, report, now=now, options=options, resolver=resolver, stems=stems
            )
        except (ArticleError, FeedError, OSError) as exc:
            complete = False
            report.item_errors.append(f"{item.link or item.guid}: {exc}")
        except Exception as exc:  # unforeseen: this item fails, the rest of the feed goes on
            log.exception("feeds: item %r of %r failed unexpectedly", item.link or item.guid, feed.name)
            complete = False
            report.item_errors.append(f"{item.link or item.guid}: unexpected {type(exc).__name__}: {exc}")
    # Validators are kept only when every item was handled: otherwise the next poll must get the
    # full feed again (not a 304) so the items that failed are retried.
    store.record_success(
        feed.name,
        now=now,
        etag=result.etag if complete else None,
        last_modified=result.last_modified if complete else None,
        item_errors=report.item_errors,
    )
    return report


# One item, and why in this order: a GUID seen before costs nothing (no network); a canonical URL
# already in the corpus is a duplicate; the page is fetched and extracted outside the ingest lock
# (slow), falling back to the feed's summary (``summary_only``); under the lock the store is checked
# again (another poller may have won), then the body is folded into a wire copy's original or
# written as a new file, which the store records only after it is on the disk.
def _ingest_item(
    store: FeedStore,
    feed: FeedState,
    item: FeedItem,
    corpus_dir: Path,
    report: FeedReport,
    *,
    now: datetime,
    options: FetchOptions | None,
    resolver: Resolver | None,
    stems: CorpusStems | None = None,
) -> None:
    if store.item_seen(feed.name, item.guid):
        return
    url = canonical_url(item.link) if item.link else ""
    if url and known_url(store, url, corpus_dir):
        report.duplicates += 1
        store.record_item(
            feed=feed.name, guid=item.guid, canonical_url=url, path=store.path_for_url(url), status="duplicate", now=now
        )
        return
    page, problem = _fetch_page(item.link, options, resolver) if item.link else (None, "the item has no link")
    if page is not None:
        candidate = Candidate(
            title=item.title or page.title,
            body=page.text,
            source=feed.name,
            url=url,
            published=item.published.date() if item.published else page.published,
            authors=page.authors or item.authors,
            summary_only=False,
            feed=feed.name,
            guid=item.guid,
        )
    elif len(item.summary.split()) >= MIN_SUMMARY_WORDS:
        candidate = Candidate(
            title=item.title or item.summary[:80],
            body=item.summary,
            source=feed.name,
            url=url,
            published=item.published.date() if item.published else None,
            authors=item.authors,
            summary_only=True,
            feed=feed.name,
            guid=item.guid,
        )
    else:
        raise ArticleError(f"no article text on the page ({problem}) and no summary in the feed")
    outcome = store_candidate(
        store, candidate, corpus_dir, corpus_dir / FEEDS_FOLDER / _feed_slug(feed.name), now=now, stems=stems
    )
    if outcome.status == "added":
        report.new.append(
            NewArticle(
                outcome.path, outcome.title, outcome.url, candidate.source, candidate.published, candidate.summary_only,
                outcome.article,
            )
        )
    elif outcome.status == "folded":
        report.folded.append(FoldedCopy(outcome.path, outcome.url, candidate.source, outcome.score or 0.0))
    else:
        report.duplicates += 1


def _fetch_page(
    link: str, options: FetchOptions | None, resolver: Resolver | None
) -> tuple[Extracted | None, str]:
    """``(the extracted article at link, "")``, or ``(None, why not)`` when it cannot be fetched or has
    no article text."""
    try:
        page = fetch(link, kind="page", options=options, resolver=resolver)
    except FetchError as exc:
        return None, str(exc)
    extracted = extract_article(page.text(), page.final_url)
    return extracted, "" if extracted else "no article text found"


def _feed_slug(name: str) -> str:
    return slugify(name, limit=60) or "feed"


# --- single pages --------------------------------------------------------------------------


def ingest_url(
    url: str,
    corpus_dir: Path,
    store: FeedStore,
    *,
    options: FetchOptions | None = None,
    now: datetime | None = None,
    folder: str = ADDED_FOLDER,
    resolver: Resolver | None = None,
) -> IngestResult:
    """Fetch one page and store it like a feed item (same extraction and dedup); details of what happened.

    Raises FetchError (cannot fetch safely) or ArticleError (no article text on the page).
    """
    moment = now or utcnow()
    _sync_if_due(store, corpus_dir, moment)
    canonical = canonical_url(url)
    rel = store.path_for_url(canonical)
    if rel is not None and (corpus_dir / rel).exists():
        return IngestResult("duplicate", corpus_dir / rel, "", canonical)
    page = fetch(url, kind="page", options=options, resolver=resolver)
    extracted = extract_article(page.text(), page.final_url)
    if extracted is None:
        raise ArticleError("no article text found on that page")
    canonical = canonical_url(page.final_url)  # the article's real address, after redirects
    parts = urlsplit(page.final_url)
    host = parts.hostname or "unknown"
    sitename = extracted.sitename if extracted.sitename and extracted.sitename != parts.netloc else ""
    candidate = Candidate(
        title=extracted.title or (extracted.text.split("\n")[0][:120]),
        body=extracted.text,
        source=sitename or host,
        url=canonical,
        published=extracted.published,
        authors=extracted.authors,
        summary_only=False,
        feed=None,
        guid=None,
    )
    return store_candidate(store, candidate, corpus_dir, corpus_dir / folder, now=moment)


def add_url(
    url: str,
    corpus_dir: Path,
    store: FeedStore,
    *,
    options: FetchOptions | None = None,
    now: datetime | None = None,
    folder: str = ADDED_FOLDER,
    resolver: Resolver | None = None,
) -> Path:
    """Add one page to the corpus (``policybot add URL``, ``/index add url:``): the article file that
    now holds it: a new file, or the existing one it duplicates or was folded into."""
    return ingest_url(url, corpus_dir, store, options=options, now=now, folder=folder, resolver=resolver).path
