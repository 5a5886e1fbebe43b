"""``policybot bench-feeds``: how fast feed items become answerable (real model, local feed server).

A feed and its article pages are generated and served by aiohttp on 127.0.0.1 (nothing leaves the
machine). Measured in one process, on a throw-away data folder:

* **ingestion throughput**: one poll of a feed with ``--items`` new items (fetch + extract +
  dedup + write), then the incremental build that embeds them, as items per minute;
* **freshness**: an item is added to the feed; the clock starts when it appears and stops when
  ``engine.ask`` answers a question about it citing its URL. The poll starts at once here, so
  this is the pipeline's own delay; in the bot add the wait for the next poll (at most the feed's
  interval, or ``POLICYBOT_FEEDS_POLL_SECONDS`` when that is longer);
* **wire-copy detection at scale** (``--dedup-sizes``): a store holding 10k and 100k synthetic
  signatures; one new item's dedup through the LSH index against the full scan it replaced (every
  stored signature read and compared), as time and Python-heap peak per item, and whether both
  reach the same decisions. Synthetic signatures stand for distinct articles (random values);
  half the probes are edited copies of a stored one, so both decisions are exercised.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web

from index.engine import Engine
from index.feeds import ArticleRecord, FeedStore, utcnow
from index.feeds import dedup as minhash
from index.settings import Settings

WORDS = ["agency", "audit", "board", "breach", "budget", "cabinet", "ciphers", "cloud", "committee", "compliance", "contractor", "court", "critical", "data", "defence", "deadline", "directive", "disclosure", "election", "encryption", "energy", "espionage", "exposure", "federal", "finance", "firmware", "grid", "guidance", "hospital", "incident", "insurance", "intelligence", "investigators", "law", "ministry", "network", "officials", "operators", "outage", "parliament", "patch", "penalty", "pipeline", "police", "ports", "privacy", "procurement", "providers", "railway", "ransom", "regulator", "report", "resilience", "review", "rules", "sanctions", "satellite", "schools", "sector", "software", "standards", "supplier", "telecom", "testimony", "threat", "treaty", "utilities", "vendors", "vulnerability", "water"]
COUNTRIES = ["Arcadia", "Borduria", "Caledonia", "Dalmatia", "Elbonia", "Freedonia", "Genovia", "Latveria"]


def add_subparser(sub: Any) -> None:
    p = sub.add_parser("bench-feeds", help="feed ingestion throughput and item-to-answer freshness (local server)")
    p.add_argument("--items", type=int, default=40, help="items in the throughput poll (default 40)")
    p.add_argument("--fresh-runs", type=int, default=3, help="freshness repetitions (default 3)")
    p.add_argument("--model", help="sentence-transformers model name or path")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument(
        "--dedup-sizes", default="10000,100000", help="stored signatures for the dedup scale part (comma list; '' skips)"
    )
    p.add_argument("--dedup-only", action="store_true", help="only the dedup scale part (no model needed)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    def log(message: str) -> None:
        print(message, file=sys.stderr)

    sizes = [int(x) for x in args.dedup_sizes.split(",") if x.strip()]
    results: dict[str, Any] = {}
    if not args.dedup_only:
        results = bench_feeds(settings, items=args.items, fresh_runs=args.fresh_runs, log=log)
    if sizes:
        results["dedup"] = [bench_dedup(n, log=log) for n in sizes]
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
            engine.feeds.add(f"{url}/feed.xml", name="Bench Wire", every_minutes=5)
            log(f"polling a feed of {items} new items …")
            started = time.perf_counter()
            result = engine.feeds.poll()
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
                engine.feeds.poll(now=moment)
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


def _full_scan(db: sqlite3.Connection) -> list[tuple[str, np.ndarray]]:
    """What wire-copy detection did before the LSH index: read every stored signature."""
    rows = db.execute("SELECT path, signature FROM articles WHERE signature IS NOT NULL").fetchall()
    return [(path, minhash.from_blob(blob)) for path, blob in rows]


def _probe_signatures(stored: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """New items: half edited copies of stored articles (a fraction of values kept), half new stories."""
    probes = []
    for n in range(count):
        fresh = rng.integers(0, 2**32, minhash.NUM_PERM, dtype=np.uint64)
        if n % 2 == 0:
            kept = rng.random(minhash.NUM_PERM) < rng.uniform(0.3, 0.9)  # estimated Jaccard around that fraction
            fresh = np.where(kept, stored[rng.integers(len(stored))], fresh)
        probes.append(fresh)
    return probes


def _per_item(dedup: Any, probes: list[np.ndarray]) -> tuple[float, int, list[minhash.Match | None]]:
    """Mean seconds and the largest Python-heap peak (bytes) of one item's dedup, and the decisions."""
    decisions = []
    started = time.perf_counter()
    for sig in probes:
        decisions.append(dedup(sig))
    seconds = (time.perf_counter() - started) / len(probes)
    peak = 0
    for sig in probes[:3]:  # tracing slows everything down: memory from a few items, timed apart
        tracemalloc.start()
        dedup(sig)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return seconds, peak, decisions


def bench_dedup(stored: int, *, probes: int = 40, seed: int = 19, log: Any = print) -> dict[str, Any]:
    """One item's wire-copy check against ``stored`` signatures: LSH index vs the full scan."""
    rng = np.random.default_rng(seed)
    signatures = rng.integers(0, 2**32, (stored, minhash.NUM_PERM), dtype=np.uint64)
    with tempfile.TemporaryDirectory(prefix="policybot-dedup-bench-") as tmp, FeedStore.open(Path(tmp)) as store:
        log(f"dedup: storing {stored:,} signatures with their LSH rows …")
        started = time.perf_counter()
        for start in range(0, stored, 10_000):
            store.record_articles(
                ArticleRecord(f"synthetic/{n}.md", f"https://bench.example/{n}", 1, 1, signatures[n])
                for n in range(start, min(start + 10_000, stored))
            )
        load_s = time.perf_counter() - started
        db = sqlite3.connect(store.path)  # the old way's own reader
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # measure the data, not the log
        db_mb = sum(f.stat().st_size for f in Path(tmp).glob("feeds.sqlite*")) / 1e6
        sample = _probe_signatures(signatures, probes, rng)
        log(f"dedup: {probes} items through the LSH index, then the full scan …")
        new_s, new_peak, new_decisions = _per_item(
            lambda sig: minhash.best_match(sig, store.similar_signatures(sig), minhash.THRESHOLD), sample
        )
        old_probes = sample[: max(4, probes // 4)] if stored > 20_000 else sample  # the old way is slow
        old_s, old_peak, old_decisions = _per_item(lambda sig: minhash.best_match(sig, _full_scan(db), minhash.THRESHOLD), old_probes)
        db.close()
        candidates = statistics.mean(len(store.similar_signatures(sig)) for sig in sample)
    return {
        "stored": stored,
        "load_s": round(load_s, 1),
        "store_mb": round(db_mb, 1),
        "items": probes,
        "folds": sum(d is not None for d in new_decisions),
        "same_decisions": new_decisions[: len(old_decisions)] == old_decisions,
        "candidates_per_item": round(candidates, 2),
        "lsh_ms_per_item": round(new_s * 1000, 3),
        "scan_ms_per_item": round(old_s * 1000, 1),
        "time_ratio": round(old_s / new_s, 1),
        "lsh_peak_kb": round(new_peak / 1024, 1),
        "scan_peak_mb": round(old_peak / 2**20, 1),
        "memory_ratio": round(old_peak / max(new_peak, 1), 1),
    }


def format_results(r: dict[str, Any]) -> str:
    lines = []
    if "items" in r:
        lines += [
            f"ingestion: {r['items']} items in {r['poll_and_build_s']} s = {r['items_per_minute']} items/min "
            f"(fetch+extract+write {r['fetch_extract_s']} s, embed+publish {r['embed_build_s']} s)",
            f"freshness (item in feed -> ask cites it, poll started at once): median {r['freshness_median_s']} s "
            f"over {len(r['freshness_s'])} runs {r['freshness_s']}",
        ]
    for d in r.get("dedup", []):
        lines.append(
            f"dedup at {d['stored']:,} stored: LSH {d['lsh_ms_per_item']} ms, {d['lsh_peak_kb']} KB per item "
            f"({d['candidates_per_item']} candidates) vs full scan {d['scan_ms_per_item']} ms, {d['scan_peak_mb']} MB: "
            f"{d['time_ratio']}x faster, {d['memory_ratio']}x less memory; same decisions: {d['same_decisions']} "
            f"({d['folds']} folds in {d['items']} items); store {d['store_mb']} MB, loaded in {d['load_s']} s"
        )
    return "\n".join(lines)
