"""Background builds: one at a time, in a worker thread, with throttled progress.

Shared by the features: /index starts and queues builds, the feed poll waits while one runs, and
/about shows it. A build makes a new version beside the live one, so questions keep being answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot.core.render import progress_text
from index import BuildProgress, BuildReport, PolicybotError

log = logging.getLogger(__name__)

Listener = Callable[["ReindexJob"], Awaitable[None]]


class Rebuilder(Protocol):
    def build(
        self, *, full: bool = False, progress: Callable[[BuildProgress], None] | None = None
    ) -> BuildReport: ...


@dataclass
class ReindexJob:
    full: bool
    requested_by: str
    changed: tuple[Path, ...] | None = None  # the files the change touched; None: compare the whole corpus
    id: str = field(default_factory=lambda: secrets.token_hex(4))
    started_at: float = field(default_factory=time.time)
    progress: BuildProgress | None = None
    report: BuildReport | None = None
    error: str | None = None
    finished: bool = False
    task: asyncio.Task[None] | None = None

    @property
    def ok(self) -> bool:
        return self.finished and self.error is None


class ReindexRunning(PolicybotError):
    """A second reindex was asked for while one runs."""

    def __init__(self, job: ReindexJob) -> None:
        super().__init__(f"A reindex is already running (started by {job.requested_by}): {progress_text(job.progress)}")
        self.job = job


class Reindexer:
    def __init__(self, engine: Rebuilder, *, interval: float = 1.0) -> None:
        self.engine = engine
        self.interval = interval
        self.current: ReindexJob | None = None
        self.last: ReindexJob | None = None
        self._pending: list[Listener] | None = None
        self._pending_changed: list[Path] | None = []

    @property
    def running(self) -> bool:
        return self.current is not None

    def start(
        self,
        *,
        full: bool,
        requested_by: str,
        listener: Listener | None = None,
        changed: Sequence[Path] | None = None,
    ) -> ReindexJob:
        """Start a build now, or raise :class:`ReindexRunning` with the running job."""
        if self.current is not None:
            raise ReindexRunning(self.current)
        job = ReindexJob(full=full, requested_by=requested_by, changed=tuple(changed) if changed is not None else None)
        self.current = job
        job.task = asyncio.create_task(self._run(job, [listener] if listener else []), name=f"reindex-{job.id}")
        return job

    def start_or_queue(
        self, *, requested_by: str, listener: Listener | None = None, changed: Sequence[Path] | None = None
    ) -> ReindexJob | None:
        """Incremental build now, or right after the running one (returns None when queued).

        ``changed``: the files this change wrote, when known; queued changes build together, from
        all their files, or from the whole corpus when one of them did not say."""
        if self.current is None:
            return self.start(full=False, requested_by=requested_by, listener=listener, changed=changed)
        if self._pending is None:
            self._pending_changed = []
        self._pending = (self._pending or []) + ([listener] if listener else [])
        if self._pending_changed is not None:
            self._pending_changed = None if changed is None else [*self._pending_changed, *changed]
        return None

    async def wait(self) -> ReindexJob | None:
        """Wait for the running build (and any queued one) to finish and report its end.

        ``current`` is cleared as soon as the build ends, before the listeners have had the final
        report, so the last job's task is awaited too.
        """
        while (job := self.current or self.last) is not None and job.task is not None and not job.task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(job.task)
        return self.last

    async def _run(self, job: ReindexJob, listeners: list[Listener]) -> None:
        loop = asyncio.get_running_loop()
        changed, ended = asyncio.Event(), asyncio.Event()

        def on_progress(progress: BuildProgress) -> None:  # in the worker thread
            def apply() -> None:
                job.progress = progress
                changed.set()

            with contextlib.suppress(RuntimeError):  # the loop is closing: nobody is watching
                loop.call_soon_threadsafe(apply)

        pump = asyncio.create_task(self._pump(job, listeners, changed, ended))
        log.info("reindex %s started by %s (full=%s)", job.id, job.requested_by, job.full)
        try:
            options: dict[str, Any] = {"changed": list(job.changed)} if job.changed is not None else {}
            job.report = await asyncio.to_thread(self.engine.build, full=job.full, progress=on_progress, **options)
            log.info("reindex %s finished: %s", job.id, job.report)
        except PolicybotError as exc:
            job.error = str(exc)
            log.warning("reindex %s failed: %s", job.id, exc)
        except Exception as exc:
            job.error = f"unexpected {type(exc).__name__} (see the bot's log)"
            log.exception("reindex %s crashed", job.id)
        finally:
            job.finished = True
            self.last, self.current = job, None
            changed.set()
            ended.set()
            with contextlib.suppress(Exception):
                await pump
            pending, self._pending = self._pending, None
            pending_changed, self._pending_changed = self._pending_changed, []
            if pending is not None:
                self._start_pending(pending, pending_changed)

    def _start_pending(self, listeners: list[Listener], changed: list[Path] | None) -> None:
        job = ReindexJob(
            full=False, requested_by="queued index change", changed=tuple(changed) if changed is not None else None
        )
        self.current = job
        job.task = asyncio.create_task(self._run(job, listeners), name=f"reindex-{job.id}")

    async def _pump(
        self, job: ReindexJob, listeners: list[Listener], changed: asyncio.Event, ended: asyncio.Event
    ) -> None:
        """Call listeners on change, at most once per interval, and at once when the job ends."""
        while True:
            await changed.wait()
            changed.clear()
            # Decide before the listeners run: the job can finish while a progress edit is in
            # flight, and then one more round must deliver the final report (``changed`` is set).
            final = job.finished
            for listener in listeners:
                try:
                    await listener(job)
                except Exception:
                    log.warning("reindex progress listener failed", exc_info=True)
            if final:
                return
            if self.interval > 0:  # throttle, but never hold back the final report
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), self.interval)
