"""Who counts as a moderator, and who may change what every server reads, decided on the server for
every call from the guild's own roles, because ``default_permissions`` only hides commands. Shared
state (articles, feeds, index) takes a home server's moderator or the application's owner.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TypeGuard

import discord

HOME_SETTING = "POLICYBOT_HOME_GUILDS"


def is_moderator(user: discord.abc.User, *, role_name: str | None) -> bool:
    """Manage Server (or Administrator) from the member's roles in this guild, or holding the
    configured moderator role (by its current name), in a guild."""
    if not in_known_guild(user):
        return False  # DMs, user-installed contexts and guilds not in the cache have no moderators
    perms = user.guild_permissions  # owner, @everyone and the member's roles, resolved against the guild's roles
    if perms.manage_guild or perms.administrator:
        return True
    if role_name:
        wanted = role_name.strip().casefold()
        return any(role.name.casefold() == wanted for role in user.roles)
    return False


def in_known_guild(user: discord.abc.User) -> TypeGuard[discord.Member]:
    """A member of a guild the bot has in its cache (fail closed on unavailable or unknown guilds)."""
    return isinstance(user, discord.Member) and user.guild.get_role(user.guild.id) is not None


def interaction_is_moderator(interaction: discord.Interaction, role_name: str | None) -> bool:
    return is_moderator(interaction.user, role_name=role_name)


def only_moderators(role_name: str | None, what: str) -> str:
    return "Only moderators (Manage Server" + (f" or the “{role_name}” role" if role_name else "") + f") can change {what}."


def owner_ids(app: discord.AppInfo | None) -> frozenset[int]:
    """The application's owner, as fetched at login; for a team-owned application, the team's owner
    and its admin and developer members (read-only members cannot change the app, so not the corpus)."""
    if app is None:
        return frozenset()
    if app.team is not None:
        roles = (discord.TeamMemberRole.admin, discord.TeamMemberRole.developer)
        members = {m.id for m in app.team.members if m.role in roles}
        return frozenset(members | ({app.team.owner_id} if app.team.owner_id else set()))
    return frozenset({app.owner.id}) if app.owner else frozenset()


def home_guild_ids(configured: Collection[int] | None, joined: Collection[int], *, sees_all: bool) -> frozenset[int] | None:
    """The home guilds: the configured ones, else the only guild the bot is in. None when that cannot
    be told (unset, and the bot is in several guilds or this process sees only some shards)."""
    if configured:
        return frozenset(configured)
    if sees_all and len(joined) == 1:
        return frozenset(joined)
    return None


@dataclass(frozen=True)
class Access:
    """Whether a change to shared state is allowed; ``why`` is short (audit log), ``message`` for the user."""

    allowed: bool
    why: str
    message: str = ""


def shared_access(
    user: discord.abc.User,
    guild_id: int | None,
    *,
    role_name: str | None,
    home: frozenset[int] | None,
    owners: frozenset[int],
    what: str,
) -> Access:
    """May ``user``, acting in ``guild_id``, change what every guild reads (``what``: "the index"…)?

    The owner may act from any guild the bot is in, never from DMs (the commands are guild-only);
    a moderator only from a home guild, judged by their roles there."""
    if guild_id is None or not in_known_guild(user):
        return Access(False, "not in a server", only_moderators(role_name, what))
    if user.id in owners:
        return Access(True, "application owner")
    if not is_moderator(user, role_name=role_name):
        return Access(False, "not a moderator", only_moderators(role_name, what))
    if home is None:
        return Access(
            False,
            "no home server set",
            f"Only moderators of the bot's home server can change {what}, and none is set: the bot is in more "
            "than one server (or this process runs only some of its shards), and they all read the same articles "
            f"and feeds. The bot's operator names the server(s) whose moderators manage them with the setting "
            f"{HOME_SETTING} (server ids, separated by commas).",
        )
    if user.guild.id not in home:
        return Access(
            False,
            "not a home server",
            f"Only moderators of the bot's home server can change {what}: every server the bot is in reads "
            "the same articles and feeds, so they are managed from one place. Moderators here can still "
            "use /settings, /feeds announce, /feeds list and /index status.",
        )
    return Access(True, "home moderator")
