"""The typing indicator while an answer is prepared, every request through the send guard: discord.py's
``typing()`` repeats in a task of its own, behind the guard's back, so a 403 on a repeat never made the
guard back off from the channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import discord

from bot.core.ratelimit import SendGuard, Withheld

log = logging.getLogger(__name__)

TYPING_EVERY = 5.0
"""Seconds between typing requests (Discord shows the indicator for about ten), as discord.py does."""


@contextlib.asynccontextmanager
async def typing_in(guard: SendGuard, channel_id: int, channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """Show "typing…" in ``channel`` until the block ends. The first request raises :class:`Withheld`
    when the channel refuses the bot (then nothing else is tried); a refused repeat stops the repeats
    and leaves the answer to the guard, which now backs off from the channel."""
    await guard.send(channel_id, channel.typing)  # awaiting a Typing sends one request, no repeats
    repeats = asyncio.create_task(_repeat(guard, channel_id, channel))
    try:
        yield
    finally:
        repeats.cancel()
        await asyncio.wait({repeats})  # no typing request outlives the block (nor races the answer)


async def _repeat(guard: SendGuard, channel_id: int, channel: discord.abc.Messageable) -> None:
    while True:
        await asyncio.sleep(TYPING_EVERY)
        try:
            await guard.send(channel_id, channel.typing)
        except Withheld:
            return  # refused: the guard logged it and backs off; the answer finds that out itself
        except Exception:  # the indicator is cosmetic: whatever breaks it must not reach the answer
            log.warning("typing in channel %s failed; not repeating it", channel_id, exc_info=True)
            return
