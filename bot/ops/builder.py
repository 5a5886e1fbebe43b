"""``policybot builder`` (or ``run`` with ``POLICYBOT_ROLE=builder``): a process without Discord that
takes the leader lock, builds, then polls feeds and publishes each increment for the replicas.
Announcements and watch DMs need Discord, so they stay with the bots.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from types import FrameType

from bot.config import BotSettings
from bot.core.metrics import Metrics, MetricsServer
from bot.ops.health import check
from bot.ops.leader import leader_lock
from bot.ops.status import Heartbeat, Status, status_board
from index import Engine, FeedPoll, PolicybotError

log = logging.getLogger(__name__)


class Builder:
    def __init__(self, settings: BotSettings, engine: Engine, stop: threading.Event | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.stop = stop or threading.Event()
        self.lock = leader_lock(settings)
        self.metrics = Metrics(engine.stats)
        self.last: FeedPoll | None = None
        self._built = False

    def status(self) -> Status:
        s = self.settings
        version = None
        with contextlib.suppress(PolicybotError, OSError):
            version = self.engine.stats().version
        self.metrics.leader.set(int(self.lock.held))
        return Status(s.instance, "builder", leader=self.lock.held, index_version=version)

    def step(self) -> float:
        """One round: lead if possible, then build or poll; returns the seconds to wait."""
        if not self.lock.try_acquire():
            return self.settings.leader_retry_seconds
        if not self._built:
            self.engine.ensure_built()
            self._built = True
        retry_build = self.last is not None and not self.last.indexed
        try:
            self.last = self.engine.feeds.poll(build=retry_build)
        except PolicybotError as exc:
            log.error("feed poll failed: %s", exc)
            return self.settings.feeds_poll_seconds
        self.metrics.polled(len(self.last.errors), len(self.last.articles))
        for error in self.last.errors:
            log.warning("feeds: %s", error)
        if self.last.articles:
            log.info("feeds: %d new article(s); indexed=%s", len(self.last.articles), self.last.indexed)
        return self.settings.feeds_poll_seconds

    def run(self) -> int:
        s = self.settings
        heartbeat = Heartbeat(status_board(s), self.status, s.heartbeat_seconds)
        server = None
        if s.metrics_port is not None:
            server = MetricsServer(self.metrics, lambda: check(self.engine, None, 0), s.metrics_host, s.metrics_port).start()
        heartbeat.start()
        log.info("builder %s started (data %s, corpus %s)", s.instance, s.data_dir, s.corpus_dir)
        try:
            while not self.stop.is_set():
                try:
                    wait = self.step()
                except PolicybotError as exc:  # a failed build: the live version keeps serving
                    log.error("build failed: %s", exc)
                    wait = s.feeds_poll_seconds
                heartbeat.beat()
                self.stop.wait(wait)
        finally:
            heartbeat.stop()
            self.lock.release()
            if server is not None:
                server.stop()
        log.info("builder %s stopped", s.instance)
        return 0


def run(settings: BotSettings, engine: Engine) -> int:
    """Run the builder until SIGINT or SIGTERM (finishing the round in progress)."""
    builder = Builder(settings, engine)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopping on signal %d", signum)
        builder.stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    return builder.run()
