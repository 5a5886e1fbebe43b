"""Where features hang what the bot's life calls (tasks run while this process leads, handlers of
newly indexed articles, stores closed at exit), so the bot knows no feature and no feature knows
another. Every call is guarded: one failing feature never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from index import FreshArticle

log = logging.getLogger(__name__)

ArticlesHandler = Callable[[Sequence[FreshArticle]], Awaitable[None]]


class LeaderTask(Protocol):
    """A background loop only the leader runs (it ingests and builds for the data folder)."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


class Hooks:
    def __init__(self) -> None:
        self._leader_tasks: list[LeaderTask] = []
        self._article_handlers: list[ArticlesHandler] = []
        self._closers: list[Callable[[], object]] = []

    # ---- registered by the features' setup() -----------------------------------------------------
    def while_leading(self, task: LeaderTask) -> None:
        """Start ``task`` when this process becomes the leader; stop it when the bot closes."""
        self._leader_tasks.append(task)

    def on_new_articles(self, handler: ArticlesHandler) -> None:
        """Call ``handler`` with the articles of each poll once they are in the live index."""
        self._article_handlers.append(handler)

    def at_exit(self, close: Callable[[], object]) -> None:
        """Call ``close`` once the gateway is closed (a store that in-flight handlers may still use)."""
        self._closers.append(close)

    # ---- called by the bot and the feed poll ---------------------------------------------------
    def start_leading(self) -> None:
        for task in self._leader_tasks:
            task.start()

    async def stop_leading(self) -> None:
        for task in self._leader_tasks:
            try:
                await task.stop()
            except Exception:
                log.exception("could not stop %s", type(task).__name__)

    async def new_articles(self, articles: Sequence[FreshArticle]) -> None:
        """In registration order (announcements before watch DMs); a failing handler is logged."""
        for handler in self._article_handlers:
            try:
                await handler(articles)
            except Exception:
                log.exception("delivering new articles failed in %s", getattr(handler, "__qualname__", handler))

    def exit(self) -> None:
        for close in self._closers:
            try:
                close()
            except Exception:
                log.exception("could not close %s", getattr(close, "__qualname__", close))
