"""Per-user cooldowns and the short-lived memory of a DM conversation.

Both are in-process dictionaries: they protect the CPU of this one process, and forgetting them
on restart is harmless.
"""

from __future__ import annotations

import time
from collections.abc import Callable


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
