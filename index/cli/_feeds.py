"""``policybot feeds …`` and ``policybot add URL…``: the feed commands (registered by ``bot.cli``).

Every handler goes through ``engine.feeds`` like the bot does, so the command line and ``/feeds``
share one code path; errors are ``PolicybotError``s, printed by the entry point as one line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from index.cli._engine import add_common, format_report
from index.engine import Engine
from index.errors import PolicybotError
from index.feeds import DEFAULT_EVERY_MINUTES, FeedPoll, FeedState, OpmlError, load_starter_feeds, utcnow
from index.settings import Settings


def add_subcommands(sub: Any) -> None:
    """Register ``feeds`` (add, remove, list, enable, disable, poll, starter, import, export) and ``add``."""
    feeds = sub.add_parser(
        "feeds", help="news feeds polled into the corpus (add, remove, list, poll, starter, import, export)"
    )
    verbs = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)

    p = verbs.add_parser("add", help="add an RSS or Atom feed (polled from now on)")
    add_common(p)
    p.add_argument("url", help="the feed's address (http or https)")
    p.add_argument("--name", help="a short name, used as the outlet (default: the URL)")
    p.add_argument("--every", type=int, default=DEFAULT_EVERY_MINUTES, metavar="MINUTES", help="poll interval")
    p.set_defaults(func=cmd_add)

    p = verbs.add_parser("remove", help="stop polling a feed (its articles stay)")
    add_common(p)
    p.add_argument("feed", metavar="NAME|URL")
    p.set_defaults(func=cmd_remove)

    p = verbs.add_parser("list", help="feeds with last success, last error, items seen, articles added")
    add_common(p)
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.set_defaults(func=cmd_list)

    for verb, on in (("enable", True), ("disable", False)):
        p = verbs.add_parser(verb, help=f"turn a feed {'on (polled at once)' if on else 'off'}")
        add_common(p)
        p.add_argument("feed", metavar="NAME|URL")
        p.set_defaults(func=cmd_enable, enabled=on)

    p = verbs.add_parser("poll", help="poll due feeds and index new articles (keeps polling without --once)")
    add_common(p)
    p.add_argument("--once", action="store_true", help="poll once and exit")
    p.set_defaults(func=cmd_poll)

    p = verbs.add_parser("starter", help="install the shipped starter list of feeds (all off)")
    add_common(p)
    p.add_argument("--enable", nargs="+", default=[], metavar="NAME", help="turn these starter feeds on")
    p.set_defaults(func=cmd_starter)

    p = verbs.add_parser("import", help="follow the feeds of an OPML file (from another reader or `feeds export`)")
    add_common(p)
    p.add_argument("file", metavar="FILE.opml", type=Path)
    p.set_defaults(func=cmd_import)

    p = verbs.add_parser("export", help="write every feed as OPML (to FILE, or to standard output)")
    add_common(p)
    p.add_argument("file", metavar="FILE", type=Path, nargs="?")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("add", help="add article pages by URL (fetched, extracted, deduplicated), then index")
    add_common(p)
    p.add_argument("urls", nargs="+", metavar="URL")
    p.set_defaults(func=cmd_add_urls)


# ---- feeds add / remove / enable / list ------------------------------------------------------
def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    feed = Engine(settings).feeds.add(args.url, name=args.name, every_minutes=args.every)
    print(f"Added feed {feed.name!r} ({feed.url}), polled every {feed.every_minutes} minutes.")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    feed = Engine(settings).feeds.remove(args.feed)
    print(f"Removed feed {feed.name!r}; its {feed.articles_added} article(s) stay in the corpus.")
    return 0


def cmd_enable(args: argparse.Namespace, settings: Settings) -> int:
    feed = Engine(settings).feeds.enable(args.feed, args.enabled)
    print(f"Feed {feed.name!r} is {'on' if feed.enabled else 'off'}.")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    feeds = Engine(settings).feeds.all()
    if args.json:
        print(json.dumps([f.as_dict() for f in feeds], ensure_ascii=False, indent=2))
        return 0
    if not feeds:
        print("No feeds yet: `policybot feeds add URL` or `policybot feeds starter`.")
        return 0
    for f in feeds:
        print(format_feed(f))
    return 0


def format_feed(f: FeedState) -> str:
    """Three to five lines per feed for a terminal."""
    state = "on" if f.enabled else "off"
    success = _when(f.last_success) if f.last_success else "never"
    lines = [
        f"{f.name} [{state}, every {f.every_minutes} min]",
        f"  {f.url}",
        f"  last success {success}; items seen {f.items_seen}; articles added {f.articles_added}",
    ]
    if f.last_error:
        lines.append(f"  last error ({_when(f.last_error_at)}): {f.last_error}")
    if f.item_errors:
        lines.append(f"  items not ingested in the last poll: {f.item_errors}")
    if f.failing:
        lines.append(f"  FAILING: {f.consecutive_failures} failed polls in a row (the moderators are alerted)")
    return "\n".join(lines)


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "?"


# ---- feeds poll ----------------------------------------------------------------------------
def cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    engine = Engine(settings)
    if args.once:
        result = engine.feeds.poll()
        print(format_poll(result))
        return 1 if result.build_error else 0
    print("Polling feeds; Ctrl-C to stop.", file=sys.stderr)
    try:
        poll_forever(engine, sys.stdout, max_sleep=settings.feeds_poll_seconds)
    except KeyboardInterrupt:
        print("stopped.", file=sys.stderr)
    return 0


def poll_forever(engine: Engine, out: TextIO, *, max_sleep: float) -> None:
    """Poll, then sleep until the next feed is due (checking at least every ``max_sleep`` seconds,
    so feeds added meanwhile by the bot or another command are picked up)."""
    pending = False
    while True:
        result = engine.feeds.poll(build=pending)
        pending = result.build_error is not None
        if result.report.feeds or result.build or result.build_error:
            out.write(format_poll(result) + "\n")
            out.flush()
        time.sleep(seconds_until(engine.feeds.next_due(), max_sleep))


def seconds_until(due: datetime | None, max_sleep: float) -> float:
    """Seconds to sleep before the next poll: until ``due``, between 1 s and ``max_sleep``."""
    if due is None:
        return max_sleep
    return min(max(1.0, (due - utcnow()).total_seconds()), max_sleep)


def format_poll(result: FeedPoll) -> str:
    """One line per feed polled, then what the build did."""
    report = result.report
    if not report.feeds:
        return "No feed is due."
    lines = []
    for f in report.feeds:
        if f.status == "failed":
            lines.append(f"{f.feed}: failed: {f.error}")
        elif f.status == "not_modified":
            lines.append(f"{f.feed}: not modified")
        else:
            line = f"{f.feed}: {len(f.new)} new, {len(f.folded)} folded, {f.duplicates} duplicate(s)"
            if f.item_errors:
                line += f", {len(f.item_errors)} item error(s): " + "; ".join(f.item_errors[:3])
            lines.append(line)
    lines += [f"  + {a.title} ({a.url})" for a in result.articles]
    if result.build is not None:
        b = result.build
        lines.append(f"Indexed: version {b.version}, {b.articles} articles (added {b.added}) in {b.seconds:.1f} s.")
    elif result.build_error:
        lines.append(f"Not indexed yet: {result.build_error}. The next build will include the new articles.")
    return "\n".join(lines)


# ---- feeds starter -------------------------------------------------------------------------
def cmd_starter(args: argparse.Namespace, settings: Settings) -> int:
    engine = Engine(settings)
    added = engine.feeds.install_starter()
    print(f"Starter list: {len(added)} feed(s) added (off), {len(load_starter_feeds()) - len(added)} already there.")
    for name in args.enable:
        feed = engine.feeds.enable(name, True)
        print(f"Feed {feed.name!r} is on.")
    if not args.enable:
        print("Turn feeds on with `policybot feeds enable NAME` (this machine needs internet access for them).")
    return 0


# ---- feeds import / export ------------------------------------------------------------------
def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 1 when the file is refused or nothing in it could be used; skipped outlines are listed."""
    path: Path = args.file
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_IMPORT_READ)
    except OSError as exc:
        raise OpmlError(f"cannot read {path}: {exc.strerror or exc}") from None
    result = Engine(settings).feeds.import_opml(data)
    print(result.summary())
    for name in result.added:
        print(f"  + {name}")
    return 1 if result.skipped and not (result.added or result.existing) else 0


MAX_IMPORT_READ = 2_000_000
"""Bytes read from an import file: past the OPML limit, so an oversized file is refused by that check."""


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    feeds = Engine(settings).feeds
    data = feeds.export_opml()
    if args.file is None:
        sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
        return 0
    args.file.write_bytes(data)
    print(f"Wrote {len(feeds.all())} feed(s) to {args.file}.", file=sys.stderr)
    return 0


# ---- add URL… ------------------------------------------------------------------------------
def cmd_add_urls(args: argparse.Namespace, settings: Settings) -> int:
    """Add each page (same path as ``/index add url:``), then one incremental build."""
    engine = Engine(settings)
    failed = 0
    for url in args.urls:
        try:
            article_id = engine.feeds.add_url(url)
        except PolicybotError as exc:
            print(f"error: {url}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{url} -> {article_id}")
    if failed < len(args.urls):
        print(format_report(engine.build()))
    return 1 if failed else 0
