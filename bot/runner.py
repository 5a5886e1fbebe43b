"""Starting the bot as a process: logging with the token redacted, signals, exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterable
from typing import Any

import discord

from bot.app import create_bot
from bot.config import BotSettings

log = logging.getLogger("bot.runner")


class RedactingFormatter(logging.Formatter):
    """Replaces secrets anywhere in the formatted record, tracebacks included."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text


def configure_logging(level: str, secrets: Iterable[str] = (), stream: Any = None) -> logging.Handler:
    """One stderr handler on the root logger; every handler there gets the redacting formatter."""
    root = logging.getLogger()
    secrets = list(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    root.addHandler(handler)
    formatter = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    for h in root.handlers:
        h.setFormatter(formatter)
    root.setLevel(level.upper())
    for noisy in ("sentence_transformers", "transformers", "huggingface_hub", "discord.gateway"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler


def make_engine(settings: BotSettings, model: str | None = None) -> Any:
    from index.config import Settings
    from index.engine import Engine

    return Engine(Settings.from_env(data_dir=settings.data_dir, corpus_dir=settings.corpus_dir, model=model))


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


def run(settings: BotSettings, *, model: str | None = None, engine: Any = None) -> int:
    """``policybot run``: start the bot with the configured token."""
    token = settings.token()
    if not token:
        raise ValueError("DISCORD_TOKEN is not set")
    configure_logging(settings.log_level, secrets=[token])
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    engine = engine or make_engine(settings, model)
    bot = create_bot(engine, settings)
    log.info(
        "starting policybot (%s, data %s, corpus %s)",
        type(bot).__name__,
        settings.data_dir,
        settings.corpus_dir,
    )
    return asyncio.run(serve(bot, token))
