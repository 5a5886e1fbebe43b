"""The weekly digest a server scheduled, posted by the leader only. The week posted is a guild
setting marked before sending, so a restart or a new leader never posts it twice (a crash between
the two loses that week's post instead); times are UTC, and a missed week is posted late, once."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import discord

from bot.core.background import WakeableLoop
from bot.core.errors import NO_PINGS
from bot.core.protocol import BotCore, Slot
from bot.core.ratelimit import Withheld
from bot.features.digest.render import digest_embed

log = logging.getLogger(__name__)

SCHEDULE = "digest_schedule"
"""Guild setting: ``{"channel": id, "weekday": 0-6 (Monday 0), "hour": 0-23}`` as JSON."""
POSTED = "digest_posted"
"""Guild setting: the scheduled time (ISO, UTC) of the last digest posted, or claimed, there."""
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_WAIT = 3600.0
"""The loop looks again at least this often (seconds), so a changed clock or setting is seen."""


@dataclass(frozen=True)
class Schedule:
    channel_id: int
    weekday: int
    hour: int

    def to_setting(self) -> str:
        return json.dumps({"channel": self.channel_id, "weekday": self.weekday, "hour": self.hour})

    @classmethod
    def from_setting(cls, raw: str) -> Schedule | None:
        try:
            data = json.loads(raw)
            schedule = cls(int(data["channel"]), int(data["weekday"]), int(data["hour"]))
        except (ValueError, TypeError, KeyError):
            return None
        return schedule if 0 <= schedule.weekday < 7 and 0 <= schedule.hour < 24 else None

    def last_due(self, now: datetime) -> datetime:
        """The latest scheduled time at or before ``now``."""
        at = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0, hour=self.hour)
        at -= timedelta(days=(at.weekday() - self.weekday) % 7)
        return at if at <= now else at - timedelta(days=7)

    def describe(self) -> str:
        return f"every {WEEKDAYS[self.weekday]} at {self.hour:02d}:00 UTC"


def utcnow() -> datetime:
    return datetime.now(UTC)


class DigestScheduler(WakeableLoop):
    """The leader's loop; ``clock`` is the seam tests drive (no sleeps: they call :meth:`run_due`)."""

    task_name = "digest-schedule"
    failure = "scheduled digests failed; trying again later"

    def __init__(self, bot: BotCore, *, clock: Callable[[], datetime] = utcnow, days: int = 7) -> None:
        super().__init__()
        self.bot = bot
        self.clock = clock
        self.days = days
        self._lock = asyncio.Lock()

    async def run_once(self) -> int:
        return await self.run_due()

    async def next_wait(self) -> float:
        """Until the soonest schedule's next time (at most ``MAX_WAIT``); :meth:`wake` when one changes."""
        now = self.clock()
        waits = [MAX_WAIT]
        for raw in (await self.bot.guild_settings.aall(SCHEDULE)).values():
            schedule = Schedule.from_setting(raw)
            if schedule is not None:
                waits.append((schedule.last_due(now) + timedelta(days=7) - now).total_seconds())
        return max(1.0, min(waits))

    async def mark_current(self, guild_id: int, schedule: Schedule) -> None:
        """A new schedule starts with the next scheduled time, not one already past."""
        await self.bot.guild_settings.aset(guild_id, POSTED, schedule.last_due(self.clock()).isoformat())

    async def run_due(self) -> int:
        """Post every digest due by now and not yet posted for that time; returns how many were posted."""
        async with self._lock:
            now = self.clock()
            posted = 0
            for guild_id, raw in (await self.bot.guild_settings.aall(SCHEDULE)).items():
                schedule = Schedule.from_setting(raw)
                if schedule is None or self.bot.get_guild(guild_id) is None:
                    continue  # a damaged setting, or a guild this process does not see
                due = schedule.last_due(now)
                last = _parse(await self.bot.guild_settings.aget(guild_id, POSTED) or "")
                if last is not None and last >= due:
                    continue
                await self.bot.guild_settings.aset(guild_id, POSTED, due.isoformat())  # claimed before sending
                if await self._post(guild_id, schedule, due):
                    posted += 1
            return posted

    async def _post(self, guild_id: int, schedule: Schedule, due: datetime) -> bool:
        today = self.bot.settings.today or due.date()
        try:
            digest = await self.bot.in_worker(self.bot.engine.digest.stories, self.days, today=today)
            channel = self.bot.get_channel(schedule.channel_id) or await self.bot.fetch_channel(schedule.channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                raise TypeError(f"channel {schedule.channel_id} cannot receive messages")
            embed = digest_embed(digest, title="Weekly cyber-policy news")
            await self.bot.send_guard.send(channel.id, partial(channel.send, embed=embed, allowed_mentions=NO_PINGS))
        except Withheld:
            return False
        except Exception as exc:
            log.warning("could not post the digest in guild %s channel %s: %s", guild_id, schedule.channel_id, exc)
            return False
        self.bot.metrics.digests.labels("schedule").inc()
        log.info("posted the weekly digest in guild %s (due %s)", guild_id, due.isoformat())
        return True


def _parse(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


SCHEDULER = Slot("digest_scheduler", DigestScheduler)
"""``bot.digest_scheduler``: the tests drive its clock."""
