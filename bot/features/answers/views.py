"""Buttons under an answer that keep working after a restart: the ``custom_id`` carries the stored
answer's id (``pb:src:<id>``, ``pb:story:<id>:2``…) and the patterns are registered at start-up.
What a click shows goes only to the clicker: the message is shared, one reader's choice is not.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import ui

from bot.core.errors import NO_PINGS, send_interaction_error
from bot.core.metrics import Metrics
from bot.core.protocol import Slot
from bot.core.render import plain, trim
from bot.features.answers.feedback import FEEDBACK
from bot.features.answers.render import answer_parts, sources_embed
from bot.features.answers.stories import MAX_STORIES, stored_story, stories
from index import Answer

log = logging.getLogger(__name__)

_ID = r"[0-9a-f]{16}"
METRICS = Slot("metrics", Metrics)
"""The bot's metrics, where a button's callback has only the client."""


class SourcesButton(ui.DynamicItem[ui.Button[Any]], template=rf"pb:src:(?P<rid>{_ID})"):
    """Shows the quoted sentences of an answer, only to the person who clicks."""

    def __init__(self, record_id: str) -> None:
        super().__init__(
            ui.Button(
                label="Sources",
                style=discord.ButtonStyle.secondary,
                emoji="📄",
                custom_id=f"pb:src:{record_id}",
            )
        )
        self.record_id = record_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> SourcesButton:
        return cls(match["rid"])

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            record = await FEEDBACK.of(interaction.client).aget_answer(self.record_id)
            if record is None:
                await interaction.response.send_message(
                    "I no longer have the sources of this answer.", ephemeral=True, allowed_mentions=NO_PINGS
                )
                return
            await interaction.response.send_message(
                embed=sources_embed(record.answer), ephemeral=True, allowed_mentions=NO_PINGS
            )
        except Exception as exc:
            await send_interaction_error(interaction, exc)


class VoteButton(ui.DynamicItem[ui.Button[Any]], template=rf"pb:vote:(?P<rid>{_ID}):(?P<vote>up|down)"):
    """👍/👎 on an answer, stored with the question and answer for evaluation."""

    def __init__(self, record_id: str, vote: str) -> None:
        super().__init__(
            ui.Button(
                emoji="👍" if vote == "up" else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"pb:vote:{record_id}:{vote}",
            )
        )
        self.record_id = record_id
        self.vote = vote

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> VoteButton:
        return cls(match["rid"], match["vote"])

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            stored = await FEEDBACK.of(interaction.client).avote(
                self.record_id, interaction.user.id, 1 if self.vote == "up" else -1
            )
            if stored:
                METRICS.of(interaction.client).votes.labels(self.vote).inc()
            text = (
                f"Thanks, your {'👍' if self.vote == 'up' else '👎'} is recorded."
                if stored
                else "I no longer have this answer, so the vote was not recorded."
            )
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
        except Exception as exc:
            await send_interaction_error(interaction, exc)


class StoryButton(ui.DynamicItem[ui.Button[Any]], template=rf"pb:story:(?P<rid>{_ID}):(?P<n>[1-{MAX_STORIES}])"):
    """One story of an ambiguous answer: shows that story's answer and sources to whoever clicks."""

    def __init__(self, record_id: str, number: int, title: str = "") -> None:
        super().__init__(
            ui.Button(
                label=trim(f"{number}. {plain(' '.join(title.split()))}", 80) if title else str(number),
                style=discord.ButtonStyle.primary,
                custom_id=f"pb:story:{record_id}:{number}",
                row=0,
            )
        )
        self.record_id = record_id
        self.number = number

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> StoryButton:
        return cls(match["rid"], int(match["n"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            record = await FEEDBACK.of(interaction.client).aget_answer(self.record_id)
            story = stored_story(record.answer, self.number) if record is not None else None
            if story is None:
                await interaction.response.send_message(
                    "I no longer have this story.", ephemeral=True, allowed_mentions=NO_PINGS
                )
                return
            title = story.sources[0].citation.title if story.sources else story.question
            first, *rest = answer_parts(story, title=f"{self.number}. {title}")
            await interaction.response.send_message(embeds=first.embeds, ephemeral=True, allowed_mentions=NO_PINGS)
            for part in rest:
                await interaction.followup.send(embeds=part.embeds, ephemeral=True, allowed_mentions=NO_PINGS)
        except Exception as exc:
            await send_interaction_error(interaction, exc)


def answer_view(record_id: str, answer: Answer) -> ui.View:
    """The buttons under an answer: one per story when the question matched several (first row),
    then Sources and the votes; the view itself holds no state (timeout None, fully dynamic)."""
    view = ui.View(timeout=None)
    several = stories(answer)
    if len(several) > 1:
        for n, story in enumerate(several, 1):
            view.add_item(StoryButton(record_id, n, story.sources[0].citation.title if story.sources else ""))
    feedback: list[ui.Item[Any]] = [SourcesButton(record_id)] if answer.sources else []
    feedback += [VoteButton(record_id, "up"), VoteButton(record_id, "down")]
    for item in feedback:
        if len(several) > 1:
            item.row = 1  # below the stories
        view.add_item(item)
    return view
