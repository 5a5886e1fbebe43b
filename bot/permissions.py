"""Who counts as a moderator: decided on the server for every call, never only by Discord's UI.

``default_permissions`` merely hides commands, and server admins can override it, so the
handlers check again here.
"""

from __future__ import annotations

import discord


def is_moderator(user: discord.abc.User, *, permissions: discord.Permissions | None, role_name: str | None) -> bool:
    """Manage Server (or Administrator), or holding the configured moderator role, in a guild."""
    if not isinstance(user, discord.Member):
        return False  # DMs and user-installed contexts have no moderators
    if permissions is not None and (permissions.manage_guild or permissions.administrator):
        return True
    if user.guild_permissions.manage_guild or user.guild_permissions.administrator:
        return True
    if role_name:
        wanted = role_name.strip().casefold()
        return any(role.name.casefold() == wanted for role in user.roles)
    return False


def interaction_is_moderator(interaction: discord.Interaction, role_name: str | None) -> bool:
    """``interaction.permissions`` is what Discord computed for this member in this channel."""
    return is_moderator(interaction.user, permissions=interaction.permissions, role_name=role_name)
