"""The leader's background loops (feed poll, scheduled digests): run, then sleep until woken or the
wait is over. One task per loop; a failed round is logged and the next one comes all the same."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


class WakeableLoop:
    """Subclasses give :meth:`run_once` and :meth:`next_wait`; ``failure`` is the log line of a failed round."""

    task_name = "background"
    failure = "background round failed; trying again later"

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop; its first round runs at once."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Run a round soon, without waiting for the rest of the wait."""
        self._wake.set()

    async def run_once(self) -> object:
        raise NotImplementedError

    async def next_wait(self) -> float:
        """Seconds until the next round unless woken."""
        raise NotImplementedError

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(self.failure)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), await self.next_wait())
            self._wake.clear()
