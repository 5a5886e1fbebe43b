"""Load benchmark: 200 questions from 50 users at once through the fake Discord, with a feed poll and
a reindex running; reports p50/p95 answer time, maximum event-loop lag and RSS.

    .venv/bin/python -m measure.bench.load [--cooldown 10] [--questions 200] [--users 50]

The bot runs as in production (the real MiniLM engine, one event loop); the fake Discord runs on
its own event loop in a thread, so the loop lag measured is the bot's, not the fake's. Everything
stays on 127.0.0.1. The test version (tests/bot/test_load.py) asserts correctness only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from measure.netguard import guard_network

REPO = Path(__file__).resolve().parents[2]


class ThreadedFake:
    """The fake Discord on its own loop; its coroutine methods are awaited from the bot's loop."""

    def __init__(self) -> None:
        from measure.fakediscord import FakeDiscord

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-discord", daemon=True)
        self.thread.start()
        self.fake = self._call(self._make(FakeDiscord))
        self._call(self.fake.start())

    @staticmethod
    async def _make(cls: Callable[[], Any]) -> Any:
        return cls()  # created on its own loop (its Condition belongs there)

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.fake, name)
        if not asyncio.iscoroutinefunction(attr):
            return attr

        async def remote(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(attr(*args, **kwargs), self.loop))

        return remote

    def close(self) -> None:
        self._call(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    import discord.gateway
    import discord.http
    import yarl

    from bot.app import create_bot
    from bot.config import BotSettings
    from index.engine import Engine
    from index.models import make_embedder
    from measure.bench.load_scenario import run_load

    root = Path(tempfile.mkdtemp(prefix="policybot-load-"))
    try:
        shutil.copytree(REPO / "tests" / "bot" / "corpus", root / "corpus")
        settings = BotSettings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=root / "data",
            corpus_dir=root / "corpus",
            cooldown_seconds=args.cooldown,
            max_concurrent=args.max_concurrent,
            progress_interval=1.0,
            fetch_allow_private=True,
            moderator_role="Policy Moderators",
            feeds_poll_seconds=3600,
        )
        engine = Engine(settings, embedder=make_embedder(settings.with_(threads=1)))
        engine.build()
        threaded = ThreadedFake()
        fake: Any = threaded
        discord.http.Route.BASE = threaded.fake.api
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(threaded.fake.gateway_url)
        bot = create_bot(engine, settings, guild_ready_timeout=0.05, identify_delay=0)
        await bot.login(threaded.fake.token)
        task = asyncio.create_task(bot.connect(reconnect=False))
        await asyncio.wait_for(bot.wait_until_ready(), 60)
        try:
            rounds = [await run_load(fake, bot, questions=args.questions, users=args.users) for _ in range(args.rounds)]
        finally:
            await bot.close()
            await asyncio.gather(task, return_exceptions=True)
            threaded.close()
        report = rounds[0]
        summary = report.summary()
        summary.update(cooldown_seconds=args.cooldown, max_concurrent=args.max_concurrent)
        # memory over repeated rounds: a leak would grow it round after round
        summary["rss_after_each_round_mb"] = [round(r.rss_after_mb) for r in rounds]
        summary["max_loop_lag_each_round_ms"] = [round(r.max_loop_lag_ms) for r in rounds]
        failed = [f for r in rounds for f in r.failed]
        if failed:
            summary["failures"] = failed[:5]
        return summary
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--cooldown", type=float, default=10.0, help="per-user cooldown (the shipped default is 10)")
    parser.add_argument("--max-concurrent", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1, help="repeat the load (memory should level off)")
    parser.add_argument("--slow-callbacks", action="store_true", help="log event-loop callbacks over 50 ms (asyncio debug)")
    args = parser.parse_args()
    guard_network()  # 127.0.0.1 only
    if args.slow_callbacks:
        import logging

        logging.basicConfig(level=logging.WARNING)

        async def debugged() -> dict[str, Any]:
            loop = asyncio.get_running_loop()
            loop.slow_callback_duration = 0.05
            return await main_async(args)

        summary = asyncio.run(debugged(), debug=True)
    else:
        summary = asyncio.run(main_async(args))
    print(json.dumps(summary, indent=2))
    return 0 if not summary.get("failures") else 1


if __name__ == "__main__":
    sys.exit(main())
