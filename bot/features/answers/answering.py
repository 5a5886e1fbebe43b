"""One path from a question to a stored answer, shared by /ask, mentions and DMs.

The engine runs in a worker (bounded by the bot's question limit); the answer is counted and stored
under a random id that the buttons under it carry, so they still work after a restart.
"""

from __future__ import annotations

import time
from datetime import date

from bot.core.protocol import BotCore
from bot.features.answers.feedback import FeedbackStore
from index import Answer, Filters


class Answerer:
    def __init__(self, bot: BotCore, feedback: FeedbackStore) -> None:
        self.bot = bot
        self.feedback = feedback

    async def answer(
        self,
        question: str,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        previous: str | None = None,
        filters: Filters | None = None,
        asked_on: date | None = None,
    ) -> tuple[Answer, str]:
        """Ask the engine and store the answer; returns it with the record id its buttons use.

        ``asked_on`` is the day of the message or interaction: "this week" means that week.
        """
        bot = self.bot
        started = time.perf_counter()
        try:
            answer = await bot.in_worker(
                bot.engine.ask, question, previous=previous, filters=filters, asked_on=asked_on, written=False
            )  # quoted at once; written.upgrade edits the sent message when writing is on
        except Exception:
            bot.metrics.question_errors.inc()
            raise
        bot.metrics.answered(answer, time.perf_counter() - started)
        record_id = await self.feedback.asave_answer(
            question=question,
            answer_json=answer.to_json(),
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            index_version=answer.index_version,
        )
        return answer, record_id
