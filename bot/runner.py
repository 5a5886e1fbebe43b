"""Starting the bot as a process: signals and exit codes (logging is set up by the entry point)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import discord

from bot.app import create_bot
from bot.config import BotSettings
from index.engine import Engine

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
    return asyncio.run(serve(bot, token))
