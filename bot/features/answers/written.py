"""Written answers: the quoted answer goes out at once, then is edited into the written one when
the checker passes it, or back to the plain quoted one (the reason logged). The model is slow, so
nobody waits for it: it runs in its own small thread pool, off the loop and the question workers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import discord

from bot.core.guild_settings import answer_style
from bot.core.protocol import BotCore
from bot.core.ratelimit import Withheld
from bot.core.render import Part
from bot.features.answers.feedback import FeedbackStore
from bot.features.answers.render import answer_parts
from index import Answer

log = logging.getLogger(__name__)

WRITING = "✍️ Writing an answer from these sources…"
WRITTEN = "✍️ Written by a language model from the quoted sources and checked against them. 📄 Sources: the quotes."

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="llm-write")
"""Writing blocks a thread for up to the budget: kept off the default pool the questions use."""

Edit = Callable[[list[discord.Embed]], Awaitable[Any]]


async def writing_on(bot: BotCore, guild_id: int | None) -> bool:
    """Written answers are wanted here and a model is configured."""
    style = await answer_style(bot.guild_settings, guild_id, bot.settings.answers)
    return bot.engine.writer.writes(style == "written")


def first_parts(answer: Answer, writing: bool) -> tuple[list[Part], bool]:
    """The quoted answer's messages, with the "writing…" footer when it will be upgraded.

    Only a one-message answer is upgraded (a written answer is short; editing one message of
    several would leave the rest of the quotes dangling).
    """
    if writing and answer.answerable:
        parts = answer_parts(answer, footer=WRITING)
        if len(parts) == 1:
            return parts, True
    return answer_parts(answer), False


async def upgrade(bot: BotCore, feedback: FeedbackStore, answer: Answer, record_id: str, edit: Edit) -> Answer:
    """Write the answer, then edit the message: into the written answer when it passed the checker,
    else back to the quoted one without the "writing…" footer. Never raises."""
    budget = bot.settings.llm_timeout
    loop = asyncio.get_running_loop()
    outcome = "fallback"
    try:
        written = await asyncio.wait_for(loop.run_in_executor(_POOL, bot.engine.writer.write, answer), budget + 10)
    except Exception as exc:  # Engine.write does not raise; this is the belt to its braces
        log.warning("written answer for %s failed: %s", record_id, type(exc).__name__)
        written, outcome = answer, "error"
    parts = answer_parts(written, footer=WRITTEN) if written.generated else []
    shown = answer
    if written.generated and len(parts) == 1:
        shown, outcome = written, "passed"
    else:
        reason = written.checker if not written.generated else "written answer does not fit one message"
        log.info("written answer not used for %s: %s", record_id, reason)
        parts = answer_parts(answer)
    bot.metrics.written.labels(outcome).inc()
    try:
        await edit(parts[0].embeds)
    except (discord.HTTPException, Withheld) as exc:  # e.g. deleted meanwhile, or the channel now refuses the bot
        log.info("could not edit the answer %s: %r", record_id, exc)
        return answer
    if shown.generated:
        await feedback.aupdate_answer(record_id, shown.to_json())
    return shown
