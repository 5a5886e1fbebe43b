"""Whether a new article matches a saved question or an announcement topic: one scorer and one
threshold for ``/watch`` and ``/feeds announce topic:``, so both agree on what "about this" means.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.core.protocol import BotCore
from index import FreshArticle

log = logging.getLogger(__name__)

THRESHOLD = 0.525
"""The match score above which a new article is worth a DM: chosen on held-out data, favouring
precision, since an unwanted DM costs more than a missed one (docs/measurements/watch-threshold.md)."""


def threshold(bot: BotCore) -> float:
    """``POLICYBOT_WATCH_THRESHOLD`` when set, else :data:`THRESHOLD`."""
    configured = bot.settings.watch_threshold
    return THRESHOLD if configured is None else configured


async def matching(bot: BotCore, query: str, articles: Sequence[FreshArticle]) -> list[FreshArticle]:
    """The articles whose engine score for ``query`` reaches the threshold, best first (scored in
    a worker thread; raises what the engine raises)."""
    by_id = {a.article_id: a for a in articles}
    scored = await asyncio.to_thread(bot.engine.match_new_articles, query, list(by_id))
    bar = threshold(bot)
    return [by_id[article_id] for article_id, score in scored if score >= bar and article_id in by_id]
