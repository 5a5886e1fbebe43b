"""Starting the bot as a process: signals and exit codes (logging is set up by the entry point)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

import discord

from bot.app import PolicyBotMixin, create_bot
from bot.config import BotSettings
from bot.core.metrics import MetricsServer
from bot.ops.health import check
from bot.ops.status import Heartbeat, Status, status_board
from index import Engine, PolicybotError

log = logging.getLogger("bot.runner")


async def serve(bot: discord.Client, token: str) -> int:
    """Run until the connection ends or SIGINT/SIGTERM asks us to stop; then close cleanly."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with bot:
        running = asyncio.create_task(bot.start(token), name="discord")
        stopping = asyncio.create_task(stop.wait(), name="signal")
        done, _ = await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stopping in done:
            log.info("stopping on signal")
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await running
            return 0
        stopping.cancel()
        try:
            running.result()
        except discord.LoginFailure:
            log.error("Discord refused the token (DISCORD_TOKEN): check it in the developer portal")
            return 1
        except discord.PrivilegedIntentsRequired:
            log.error("the bot asks for a privileged intent that is not enabled in the developer portal")
            return 1
    return 0


def run(settings: BotSettings, engine: Engine) -> int:
    """``policybot run``: start the bot with the configured token."""
    token = settings.token()
    if not token:
        raise ValueError("DISCORD_TOKEN is not set")
    bot = create_bot(engine, settings)
    log.info(
        "starting policybot (%s, data %s, corpus %s, model %s)",
        type(bot).__name__,
        settings.data_dir,
        settings.corpus_dir,
        settings.model,
    )
    heartbeat = Heartbeat(status_board(settings), lambda: bot_status(bot), settings.heartbeat_seconds)
    server = None
    if settings.metrics_port is not None:
        health = lambda: check(engine, bot_status(bot), settings.health_max_age)  # noqa: E731
        server = MetricsServer(bot.metrics, health, settings.metrics_host, settings.metrics_port).start()
    heartbeat.start()
    try:
        return asyncio.run(serve(bot, token))
    finally:
        heartbeat.stop()
        if server is not None:
            server.stop()


def bot_status(bot: PolicyBotMixin) -> Status:
    """What the status file and ``/healthz`` say about this bot (called from other threads)."""
    s = bot.settings
    version = None
    with contextlib.suppress(PolicybotError, OSError):
        version = bot.engine.stats().version
    connected = bot.connected
    bot.metrics.connected.set(int(connected))
    shards = getattr(bot, "shards", None)  # AutoShardedClient only
    shard_ids = s.shard_ids if s.shard_ids is not None else (sorted(shards) if shards else None)
    return Status(
        s.instance,
        "bot",
        leader=bot.leader.held,
        connected=connected,
        shard_ids=shard_ids,
        shard_count=bot.shard_count,
        index_version=version,
        heartbeat_at=time.time(),
    )
