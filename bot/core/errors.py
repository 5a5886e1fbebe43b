"""One place that turns any failure into a short user-facing message with a reference id.

Users see the message of a :class:`PolicybotError` (they are written for them); anything else
is logged with its traceback under a short reference id that the user can quote to a moderator.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import discord
from discord import app_commands

from bot.core.render import plain
from index import PolicybotError

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()


class BotError(PolicybotError):
    """A refusal or problem raised by the bot itself (shown to the user as it is)."""


class NotModerator(app_commands.CheckFailure):
    """Raised by the moderator check; its message is shown ephemerally."""


class OnCooldown(BotError):
    """The user asked again too soon."""


def unwrap(error: BaseException) -> BaseException:
    """The exception that actually went wrong, without discord.py's wrappers."""
    if isinstance(error, app_commands.CommandInvokeError):
        return error.original
    if isinstance(error, app_commands.TransformerError) and error.__cause__ is not None:
        return error.__cause__
    return error


def describe(error: BaseException, *, where: str) -> str:
    """The text to show; logs unexpected errors with a fresh reference id."""
    error = unwrap(error)
    if isinstance(error, PolicybotError | NotModerator):
        return plain(str(error)) or "That did not work."  # may quote a hostile server's header or host name
    if isinstance(error, app_commands.CheckFailure):
        return "You cannot use this command here."
    if isinstance(error, discord.Forbidden):  # 403 Missing Permissions / Access: a server setting, not a bug
        log.warning("missing permissions in %s: %s", where, error.text)
        return "I am missing a permission for that here (Discord said: " + (error.text or "Forbidden")[:100] + "). A moderator can grant it."
    ref = secrets.token_hex(4)
    log.error("unexpected error in %s (ref %s)", where, ref, exc_info=error)
    return f"Something went wrong on my side. Reference: `{ref}`."


async def send_interaction_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Answer ephemerally whether or not the interaction was already acknowledged."""
    name = interaction.command.qualified_name if interaction.command else "component"
    text = describe(error, where=f"/{name}" if interaction.command else name)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
    except discord.HTTPException:
        log.warning("could not report an error to the user of %s", name, exc_info=True)


async def reply(message: discord.Message, content: str | None = None, **kwargs: Any) -> discord.Message:
    """Reply to ``message`` without pinging; if the user deleted it meanwhile, Discord sends a plain
    message instead of refusing the reply (``fail_if_not_exists=False``), so the answer still arrives."""
    reference = message.to_reference(fail_if_not_exists=False)
    return await message.channel.send(content, reference=reference, mention_author=False, **kwargs)
