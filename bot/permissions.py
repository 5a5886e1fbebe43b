"""Who counts as a moderator: decided on the server for every call, never only by Discord's UI.

``default_permissions`` merely hides commands, and server admins can override it, so the
handlers check again here. The decision uses the guild's own role list (from the gateway cache):
a role id the guild does not have grants nothing, and the permission bits an interaction payload
carries are not trusted on their own (tests/bot/test_permissions.py).
"""

from __future__ import annotations

import discord


def is_moderator(user: discord.abc.User, *, role_name: str | None) -> bool:
    """Manage Server (or Administrator) from the member's roles in this guild, or holding the
    configured moderator role (by its current name), in a guild."""
    if not isinstance(user, discord.Member):
        return False  # DMs and user-installed contexts have no moderators
    if user.guild.get_role(user.guild.id) is None:
        return False  # the guild is not in the cache (unavailable, or not a guild the bot is in): fail closed
    perms = user.guild_permissions  # owner, @everyone and the member's roles, resolved against the guild's roles
    if perms.manage_guild or perms.administrator:
        return True
    if role_name:
        wanted = role_name.strip().casefold()
        return any(role.name.casefold() == wanted for role in user.roles)
    return False


def interaction_is_moderator(interaction: discord.Interaction, role_name: str | None) -> bool:
    return is_moderator(interaction.user, role_name=role_name)
