"""Load through the fake Discord: many users asking at once while a reindex and a feed poll run.

Shared by the test (``tests/bot/test_load.py``, which asserts only that every question is answered
or told when to retry) and the benchmark (``measure/bench/load.py``, which reports the timings).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from measure.fakediscord import EPHEMERAL, FakeDiscord, Interaction

QUESTIONS = [
    "When was the Cyber Resilience Act adopted?",
    "Who led the counter ransomware summit meeting?",
    "When must agencies disconnect Ivanti VPN appliances?",
    "What did the SEC require companies to disclose?",
    "Which countries joined the ransomware initiative?",
]
FEED_STORY = (
    "The Zendarian data protection authority fined Zenda Telecom 2.4 million euros on Tuesday for reporting a "
    "breach of customer records eleven days late. The regulator said operators must report such breaches within "
    "seventy-two hours. Zenda Telecom said it would appeal the decision in court."
)


def rss_mb() -> float:
    """This process's resident memory (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class LoadReport:
    questions: int
    users: int
    answered: int = 0
    told_to_retry: int = 0
    failed: list[str] = field(default_factory=list)
    answer_seconds: list[float] = field(default_factory=list)
    max_loop_lag_ms: float = 0.0
    rss_baseline_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_after_mb: float = 0.0
    reindex: str = ""
    poll_indexed: bool = False
    seconds: float = 0.0

    def percentile(self, q: float) -> float:
        if not self.answer_seconds:
            return 0.0
        values = sorted(self.answer_seconds)
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]

    def summary(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "users": self.users,
            "answered": self.answered,
            "told_to_retry": self.told_to_retry,
            "failed": len(self.failed),
            "answer_p50_ms": round(self.percentile(0.5) * 1000),
            "answer_p95_ms": round(self.percentile(0.95) * 1000),
            "answer_mean_ms": round(statistics.fmean(self.answer_seconds) * 1000) if self.answer_seconds else 0,
            "max_loop_lag_ms": round(self.max_loop_lag_ms, 1),
            "rss_baseline_mb": round(self.rss_baseline_mb),
            "rss_peak_mb": round(self.rss_peak_mb),
            "rss_after_mb": round(self.rss_after_mb),
            "reindex": self.reindex,
            "feed_poll_indexed": self.poll_indexed,
            "seconds": round(self.seconds, 1),
        }


@asynccontextmanager
async def news_site() -> AsyncIterator[str]:
    """A feed with one new story and its page, on 127.0.0.1."""
    runner_box: list[web.AppRunner] = []

    async def feed(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        xml = (
            "<?xml version='1.0'?><rss version='2.0'><channel><title>Load Wire</title><link>" + base + "/</link>"
            "<item><guid>zenda-1</guid><link>" + base + "/news/zenda</link><title>Zenda Telecom fined</title>"
            "<pubDate>Wed, 12 Jun 2024 08:00:00 GMT</pubDate><description>" + FEED_STORY + "</description></item>"
            "</channel></rss>"
        )
        return web.Response(text=xml, content_type="application/rss+xml")

    async def page(request: web.Request) -> web.Response:
        body = "".join(f"<p>{s}.</p>" for s in FEED_STORY.split(". "))
        return web.Response(
            text=f"<html><head><title>Zenda Telecom fined</title></head><body><article><h1>Zenda Telecom fined</h1>"
            f"{body}</article></body></html>",
            content_type="text/html",
        )

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    app.router.add_get("/news/zenda", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    runner_box.append(runner)
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def outcome(inter: Interaction) -> str | None:
    """"answered", "retry" (told when to try again), "failed: …", or None while pending."""
    if inter.errors:
        return f"failed: {inter.errors}"
    if inter.callbacks:
        first = inter.callbacks[0]
        content = (first.get("data") or {}).get("content") or ""
        if first["type"] == 4 and int((first.get("data") or {}).get("flags") or 0) & EPHEMERAL:
            return "retry" if "<t:" in content and "ry again" in content else f"failed: {content[:80]}"
    messages = inter.messages()
    if messages and any(m.get("embeds") for m in messages):
        return "answered"
    if messages:
        return f"failed: {(messages[0].get('content') or '')[:80]}"
    return None


async def run_load(fake: FakeDiscord, bot: Any, *, questions: int = 200, users: int = 50, timeout: float = 600) -> LoadReport:
    """Fire ``questions`` /ask from ``users`` members at once, with a feed poll and a reindex running."""
    report = LoadReport(questions, users)
    members = []
    for n in range(users):
        user = fake._user(f"loaduser{n}")
        fake.guild["members"].append(fake._member(user, []))
        members.append(user)
    warm = await fake.slash("ask", {"question": QUESTIONS[0]}, user=fake.admin)  # model and index loaded
    await fake.wait_for(warm.messages, timeout=120)
    gc.collect()
    report.rss_baseline_mb = report.rss_peak_mb = rss_mb()

    stop = asyncio.Event()

    async def monitor() -> None:
        """Event-loop lag: how late a 10 ms sleep wakes up; RSS sampled alongside."""
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.01)
            report.max_loop_lag_ms = max(report.max_loop_lag_ms, (time.perf_counter() - t0 - 0.01) * 1000)
            report.rss_peak_mb = max(report.rss_peak_mb, rss_mb())

    watcher = asyncio.create_task(monitor())
    started = time.perf_counter()
    async with news_site() as site:
        add = await fake.slash("feeds", {"url": f"{site}/feed.xml", "name": "Load Wire"}, sub="add", user=fake.admin)
        reindex = await fake.slash("index", {}, sub="reindex", user=fake.rolemod)
        sent: list[tuple[Interaction, float]] = []
        for i in range(questions):
            inter = await fake.slash("ask", {"question": QUESTIONS[i % len(QUESTIONS)]}, user=members[i % users])
            sent.append((inter, time.perf_counter()))
        done_at: dict[str, float] = {}

        def all_done() -> bool:
            now = time.perf_counter()
            for inter, _ in sent:
                if inter.id not in done_at and outcome(inter) is not None:
                    done_at[inter.id] = now
            return len(done_at) == len(sent)

        await fake.wait_for(all_done, timeout=timeout)
        await fake.wait_for(add.messages, timeout=timeout)
        await bot.reindexer.wait()
        await fake.wait_for(lambda: bot.poller.last is not None or not bot.poller._lock.locked(), timeout=timeout)
        async with bot.poller._lock:  # the triggered poll has finished
            pass
        report.poll_indexed = bool(bot.poller.last and bot.poller.last.indexed)
        job = bot.reindexer.last
        report.reindex = "finished" if job and job.ok else f"failed: {job.error if job else 'never ran'}"
        del reindex
    report.seconds = time.perf_counter() - started
    stop.set()
    await watcher
    for inter, t0 in sent:
        result = outcome(inter)
        if result == "answered":
            report.answered += 1
            report.answer_seconds.append(done_at[inter.id] - t0)
        elif result == "retry":
            report.told_to_retry += 1
        else:
            report.failed.append(str(result))
    gc.collect()
    report.rss_after_mb = rss_mb()
    return report
