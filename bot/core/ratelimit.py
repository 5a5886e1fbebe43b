"""Per-user cooldowns, the short memory of a DM conversation, and the back-off from channels that
refuse the bot: in-process dictionaries, since they protect this one process (its CPU, its IP's
standing with Discord) and forgetting them on restart is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import discord

log = logging.getLogger(__name__)

T = TypeVar("T")


class Cooldown:
    """At most one question per ``seconds`` per user; ``hit`` says how long to wait otherwise."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[int, float] = {}

    def hit(self, user_id: int) -> float | None:
        """Record a question and return None, or return the seconds left without recording."""
        if self.seconds <= 0:
            return None
        now = self._clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self.seconds:
            return self.seconds - (now - last)
        self._last[user_id] = now
        if len(self._last) > 10_000:
            self._forget_old(now)
        return None

    def _forget_old(self, now: float) -> None:
        for uid, at in list(self._last.items()):
            if now - at >= self.seconds:
                del self._last[uid]


def retry_timestamp(seconds: float, now: Callable[[], float] = time.time) -> str:
    """Discord renders ``<t:…:R>`` as "in 8 seconds" in each reader's own clock."""
    return f"<t:{int(now() + seconds + 0.999)}:R>"


class ConversationMemory:
    """The last question of each DM channel, forgotten after ``ttl`` seconds."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._items: dict[int, tuple[str, float]] = {}

    def get(self, channel_id: int) -> str | None:
        item = self._items.get(channel_id)
        if item is None:
            return None
        question, at = item
        if self._clock() - at > self.ttl:
            del self._items[channel_id]
            return None
        return question

    def set(self, channel_id: int, question: str) -> None:
        now = self._clock()
        self._items[channel_id] = (question, now)
        if len(self._items) > 10_000:
            for cid, (_, at) in list(self._items.items()):
                if now - at > self.ttl:
                    del self._items[cid]


INVALID_WINDOW = 600.0
"""Discord counts invalid requests (401, 403, 429) over 10 minutes and bans the IP at 10,000."""
INVALID_BUDGET = 1000
"""Refusals in the window after which the bot stops sending messages anywhere: a tenth of Discord's
limit, so the requests this guard never sees (interactions, 429s) keep a wide margin."""


class Withheld(Exception):
    """The bot does not post in this channel for now: Discord refused it there lately (logged once)."""


@dataclass
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class SendGuard:
    """Backs off from channels that answer 403, since Discord bans an IP for too many: a refused
    channel is left alone for ``retry_seconds``, an untried one takes one message at a time, and
    ``budget`` refusals within ``window`` seconds stop all posting until they age out."""

    def __init__(
        self,
        retry_seconds: float,
        *,
        budget: int = INVALID_BUDGET,
        window: float = INVALID_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.retry_seconds = retry_seconds
        self.budget = budget
        self.window = window
        self.clock = clock
        self._blocked: dict[int, float] = {}  # channel id -> monotonic time it may be tried again
        self._working: set[int] = set()  # channels where a request succeeded since their last refusal
        self._refusals: deque[float] = deque()
        self._turns: dict[int, _Turn] = {}
        self._tripped = False

    def allowed(self, channel_id: int) -> bool:
        now = self.clock()
        if self._breaker_open(now):
            return False
        until = self._blocked.get(channel_id)
        if until is None:
            return True
        if now < until:
            return False
        del self._blocked[channel_id]
        return True

    def refused(self, channel_id: int, error: discord.HTTPException) -> None:
        """Discord refused a request in ``channel_id``: back off there (logged once per back-off)."""
        now = self.clock()
        self._refusals.append(now)
        self._working.discard(channel_id)
        if self._blocked.get(channel_id, now) <= now:
            log.warning(
                "Discord refused a message in channel %s (%s %s); not posting there for %.0f s",
                channel_id, error.status, error.code, self.retry_seconds,
            )
        self._blocked[channel_id] = now + self.retry_seconds
        if len(self._blocked) > 10_000:
            self._blocked = {c: t for c, t in self._blocked.items() if t > now}
        self._breaker_open(now)

    def worked(self, channel_id: int) -> None:
        if len(self._working) > 100_000:
            self._working.clear()  # forgetting only makes the next message in a channel take its turn
        self._working.add(channel_id)

    async def send(self, channel_id: int, request: Callable[[], Awaitable[T]]) -> T:
        """Run ``request`` (one Discord call in ``channel_id``) unless the channel is backed off from;
        raises :class:`Withheld` instead of making a request Discord would refuse. Interaction answers
        skip it: their token is never refused for a channel's permissions; each passes NO_PINGS itself."""
        async with self._turn(channel_id):
            if not self.allowed(channel_id):
                raise Withheld(channel_id)
            try:
                result = await request()
            except discord.Forbidden as exc:
                self.refused(channel_id, exc)
                raise Withheld(channel_id) from exc
            self.worked(channel_id)
        return result

    @contextlib.asynccontextmanager
    async def _turn(self, channel_id: int) -> AsyncIterator[None]:
        """One at a time until a request in the channel has worked; then no waiting at all."""
        if channel_id in self._working:
            yield
            return
        turn = self._turns.setdefault(channel_id, _Turn())
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[channel_id]

    def _breaker_open(self, now: float) -> bool:
        while self._refusals and now - self._refusals[0] >= self.window:
            self._refusals.popleft()
        tripped = len(self._refusals) >= self.budget
        if tripped != self._tripped:
            self._tripped = tripped
            if tripped:
                log.error(
                    "Discord refused %d messages in %.0f s; posting nowhere until that drops (Discord bans an IP "
                    "at 10,000 invalid requests in 10 minutes)", len(self._refusals), self.window,
                )
            else:
                log.warning("refusals have aged out; posting messages again")
        return tripped
