"""Answers: /ask, /search, /about, mentions and DMs, the buttons under an answer, written answers."""

from __future__ import annotations

from bot.core.protocol import BotCore
from bot.features.answers.answering import Answerer
from bot.features.answers.commands import AskCog
from bot.features.answers.feedback import FEEDBACK, FeedbackStore
from bot.features.answers.messages import DirectCog
from bot.features.answers.views import SourcesButton, StoryButton, VoteButton


async def setup(bot: BotCore) -> None:
    """Open the stored answers, then register the commands, the DM and mention listener and the buttons."""
    feedback = FEEDBACK.put(bot, FeedbackStore(bot.settings.feedback_db, database_url=bot.settings.database))
    bot.hooks.at_exit(feedback.close)
    answerer = Answerer(bot, feedback)
    await bot.add_cog(AskCog(bot, answerer))
    await bot.add_cog(DirectCog(bot, answerer))
    bot.add_dynamic_items(SourcesButton, VoteButton, StoryButton)
