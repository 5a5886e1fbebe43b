"""``policybot bench-feeds``: how fast feed items become answerable (real model, local feed server).

A feed and its article pages are generated and served by aiohttp on 127.0.0.1 (nothing leaves the
machine). Measured in one process, on a throw-away data folder:

* **ingestion throughput**: one poll of a feed with ``--items`` new items (fetch + extract +
  dedup + write), then the incremental build that embeds them, as items per minute;
* **freshness**: an item is added to the feed; the clock starts when it appears and stops when
  ``engine.ask`` answers a question about it citing its URL. The poll starts at once here, so
  this is the pipeline's own delay; in the bot add the wait for the next poll (at most the feed's
  interval, or ``POLICYBOT_FEEDS_POLL_SECONDS`` when that is longer).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from index.engine import Engine
from index.feeds.store import utcnow
from index.settings import Settings

WORDS = ["agency", "audit", "board", "breach", "budget", "cabinet", "ciphers", "cloud", "committee", "compliance", "contractor", "court", "critical", "data", "defence", "deadline", "directive", "disclosure", "election", "encryption", "energy", "espionage", "exposure", "federal", "finance", "firmware", "grid", "guidance", "hospital", "incident", "insurance", "intelligence", "investigators", "law", "ministry", "network", "officials", "operators", "outage", "parliament", "patch", "penalty", "pipeline", "police", "ports", "privacy", "procurement", "providers", "railway", "ransom", "regulator", "report", "resilience", "review", "rules", "sanctions", "satellite", "schools", "sector", "software", "standards", "supplier", "telecom", "testimony", "threat", "treaty", "utilities", "vendors", "vulnerability", "water"]
COUNTRIES = ["Arcadia", "Borduria", "Caledonia", "Dalmatia", "Elbonia", "Freedonia", "Genovia", "Latveria"]


def add_subparser(sub: Any) -> None:
    p = sub.add_parser("bench-feeds", help="feed ingestion throughput and item-to-answer freshness (local server)")
    p.add_argument("--items", type=int, default=40, help="items in the throughput poll (default 40)")
    p.add_argument("--fresh-runs", type=int, default=3, help="freshness repetitions (default 3)")
    p.add_argument("--model", help="sentence-transformers model name or path")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    results = bench_feeds(settings, items=args.items, fresh_runs=args.fresh_runs, log=lambda m: print(m, file=sys.stderr))
    print(format_results(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def article_html(n: int) -> tuple[str, str, str]:
    """(title, html, question) of generated article ``n``: one distinctive fact to ask about."""
    country = COUNTRIES[n % len(COUNTRIES)]
    company = f"Nordwave{n} Networks"
    title = f"{country} regulator fines {company} over breach reporting"
    rng = random.Random(n)  # distinct filler per article, so no two are folded as wire copies
    filler = [
        " ".join(rng.choice(WORDS) for _ in range(18)).capitalize() + "." for _ in range(6)
    ]
    paragraphs = [
        f"The {country} data protection authority fined {company} {n + 2}.5 million euros on Tuesday for reporting "
        f"a ransomware attack {n % 5 + 2} weeks after it was discovered.",
        " ".join(filler[:3]),
        f"Investigators said the attack exposed records of {(n + 1) * 1000} customers.",
        " ".join(filler[3:]),
    ]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    html = (
        f"<html><head><title>{title} | Bench Wire</title><meta name='date' content='2024-06-12'></head><body>"
        f"<nav>Home</nav><article><h1>{title}</h1>{body}</article><footer>Contact</footer></body></html>"
    )
    return title, html, f"How much was {company} fined?"


@contextmanager
def feed_server(items: list[int]) -> Iterator[str]:
    """Serve ``/feed.xml`` (the current ``items``, newest first) and ``/a/N`` pages on 127.0.0.1."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}
    when = format_datetime(utcnow(), usegmt=True)

    async def feed(request: web.Request) -> web.Response:
        base = box["base"]
        entries = "".join(
            f"<item><guid>bench-{n}</guid><link>{base}/a/{n}</link><title>{article_html(n)[0]}</title>"
            f"<pubDate>{when}</pubDate><description>Item {n}.</description></item>"
            for n in reversed(items)
        )
        xml = f"<?xml version='1.0'?><rss version='2.0'><channel><title>Bench</title>{entries}</channel></rss>"
        return web.Response(text=xml, content_type="application/rss+xml")

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=article_html(int(request.match_info["n"]))[1], content_type="text/html")

    async def start() -> None:
        app = web.Application()
        app.router.add_get("/feed.xml", feed)
        app.router.add_get("/a/{n}", page)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        box["runner"], box["base"] = runner, f"http://127.0.0.1:{runner.addresses[0][1]}"
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield str(box["base"])
    finally:
        asyncio.run_coroutine_threadsafe(box["runner"].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def bench_feeds(base: Settings, *, items: int, fresh_runs: int, log: Any = print) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="policybot-feeds-bench-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        corpus.mkdir()
        (corpus / "seed.md").write_text(
            "---\ntitle: Seed article\nsource: bench\npublished: 2024-01-01\n---\n"
            "The agency published guidance on secure software development for federal suppliers.\n"
        )
        settings = base.with_(data_dir=root / "data", corpus_dir=corpus, fetch_allow_private=True, today=None)
        engine = Engine(settings)
        engine.build()
        engine.warm()
        served = list(range(items))
        with feed_server(served) as url:
            engine.add_feed(f"{url}/feed.xml", name="Bench Wire", every_minutes=5)
            log(f"polling a feed of {items} new items …")
            started = time.perf_counter()
            result = engine.poll_feeds()
            total = time.perf_counter() - started
            build_s = result.build.seconds if result.build else 0.0
            assert len(result.articles) == items, result.errors
            moment = utcnow()
            fresh: list[float] = []
            for run_no in range(fresh_runs):
                n = items + run_no
                _, _, question = article_html(n)
                served.append(n)  # the item appears in the feed now
                appeared = time.perf_counter()
                moment += timedelta(minutes=6)  # the feed is due again (5-minute interval)
                engine.poll_feeds(now=moment)
                while True:
                    answer = engine.ask(question)
                    if any(s.citation.url.endswith(f"/a/{n}") for s in answer.sources):
                        break
                    if time.perf_counter() - appeared > 120:
                        raise RuntimeError("the new item never became answerable")
                fresh.append(time.perf_counter() - appeared)
                log(f"freshness run {run_no + 1}: {fresh[-1]:.2f} s")
    return {
        "items": items,
        "poll_and_build_s": round(total, 2),
        "fetch_extract_s": round(total - build_s, 2),
        "embed_build_s": round(build_s, 2),
        "items_per_minute": round(items / total * 60, 1),
        "freshness_s": [round(x, 2) for x in fresh],
        "freshness_median_s": round(statistics.median(fresh), 2) if fresh else None,
        "model": settings.model,
    }


def format_results(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"ingestion: {r['items']} items in {r['poll_and_build_s']} s = {r['items_per_minute']} items/min "
            f"(fetch+extract+write {r['fetch_extract_s']} s, embed+publish {r['embed_build_s']} s)",
            f"freshness (item in feed -> ask cites it, poll started at once): median {r['freshness_median_s']} s "
            f"over {len(r['freshness_s'])} runs {r['freshness_s']}",
        ]
    )
