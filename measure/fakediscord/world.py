"""The fake's world and state: users, guilds, channels, members and DMs, its clock and its ids.

The gateway, REST and scenario parts build on this class; each reads and changes the same state,
and every change wakes ``wait_for`` (tests wait for what the bot did, never sleep).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from measure.fakediscord.connection import Gateway
from measure.fakediscord.records import (
    APP_ID,
    DISCORD_EPOCH_MS,
    PERM_BASIC,
    PERM_MANAGE_GUILD,
    TOKEN,
    Interaction,
    RateLimit,
    Request,
    now_iso,
)


class World:
    """The fake's state, starting as one guild with its people (``_scenario``); the parts build on it."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        shard_count: int = 1,
        heartbeat_ms: int = 250,
        interaction_deadline: float = 3.0,
        privileged_intents: int = 0,
    ) -> None:
        self.token = token
        self.shard_count = shard_count
        self.heartbeat_ms = heartbeat_ms
        self.interaction_deadline = interaction_deadline
        self.privileged_intents = privileged_intents
        # Snowflakes carry their creation time (ms since Discord's 2015 epoch) above bit 22, as on
        # Discord: a message's created_at is then today, and consecutive ids alternate shards.
        self._ids = itertools.count(int(time.time() * 1000) - DISCORD_EPOCH_MS)
        self.requests: list[Request] = []
        self.rejected: list[tuple[str, list[str]]] = []
        self.unknown_routes: list[str] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self.message_payloads: dict[str, list[dict[str, Any]]] = {}
        self.typing: list[str] = []
        self.interactions: dict[str, Interaction] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.gateways: list[Gateway] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.cdn: dict[str, bytes] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.guild: dict[str, Any] = {}
        self.guilds: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.dm_channels: dict[str, str] = {}
        # Discord's limits and failures, switched on by tests (see limit(), deny(), hide(), delete_message()).
        self.rate_limits: list[RateLimit] = []
        self.limited: list[str] = []  # "METHOD /path" of every 429 sent
        self.denied_channels: set[str] = set()
        self.hidden_channels: set[str] = set()
        self.time_offset = 0.0  # added to the clock: a test "waits" 15 minutes at once
        self.token_ttl = 15 * 60.0  # an interaction token works for 15 minutes
        self._cond = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.bot_user = self._user("policybot", bot=True, id=APP_ID)
        self._scenario()
        self.app_owner: dict[str, Any] = self.admin  # the application's owner (GET /oauth2/applications/@me)
        self.app_team: dict[str, Any] | None = None  # or a team owns it: see team()

    def now(self) -> float:
        """The fake's clock (monotonic plus ``time_offset``)."""
        return time.monotonic() + self.time_offset

    # ---- ids and world -------------------------------------------------------------------
    def snowflake(self) -> str:
        """Ids whose shard ((id >> 22) % n) runs 0, 1, 0, 1, … so guilds spread over shards."""
        return str(next(self._ids) << 22)

    def _user(self, name: str, *, bot: bool = False, id: int | str | None = None) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": str(id or self.snowflake()),
            "username": name,
            "discriminator": "0",
            "global_name": name.title(),
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }
        self.users[user["id"]] = user
        return user

    def _scenario(self) -> None:
        """One guild with a text channel, an admin, a role moderator, a member and another bot."""
        self.alice = self._user("alice")
        self.bob = self._user("bob")
        self.admin = self._user("admin")
        self.rolemod = self._user("rolemod")
        self.other_bot = self._user("otherbot", bot=True)
        self.guild = self.add_guild("Policy Guild")
        self.channel = self.guild["channels"][0]

    def add_guild(self, name: str, *, shard: int | None = None) -> dict[str, Any]:
        gid = self.snowflake()
        while shard is not None and self.shard_of(gid) != shard:
            gid = self.snowflake()
        roles = [
            self._role(gid, "@everyone", PERM_BASIC),
            self._role(self.snowflake(), "Admins", PERM_BASIC | PERM_MANAGE_GUILD),
            self._role(self.snowflake(), "Policy Moderators", PERM_BASIC),
        ]
        channel: dict[str, Any] = {
            "id": self.snowflake(),
            "type": 0,
            "guild_id": gid,
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }
        guild: dict[str, Any] = {
            "id": gid,
            "name": name,
            "icon": None,
            "owner_id": self.admin["id"],
            "features": [],
            "roles": roles,
            "channels": [channel],
            "members": [],
            "threads": [],
            "emojis": [],
            "stickers": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "unavailable": False,
            "large": False,
            "joined_at": now_iso(),
            "preferred_locale": "en-US",
            "premium_tier": 0,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "system_channel_flags": 0,
        }
        self.guilds[gid] = guild
        self.channels[channel["id"]] = channel
        member_roles = {
            self.bot_user["id"]: [],
            self.alice["id"]: [],
            self.bob["id"]: [],
            self.admin["id"]: [roles[1]["id"]],
            self.rolemod["id"]: [roles[2]["id"]],
            self.other_bot["id"]: [],
        }
        guild["members"] = [self._member(self.users[uid], r) for uid, r in member_roles.items()]
        guild["member_count"] = len(guild["members"])
        return guild

    def add_member(self, guild: dict[str, Any], name: str, *, roles: tuple[str, ...] = ()) -> dict[str, Any]:
        """A new user who is in ``guild`` only, holding the named roles there (before the bot connects)."""
        user = self._user(name)
        role_ids = [r["id"] for r in guild["roles"] if r["name"] in roles]
        guild["members"].append(self._member(user, role_ids))
        guild["member_count"] = len(guild["members"])
        return user

    def team(self, owner: dict[str, Any], members: dict[str, str]) -> dict[str, Any]:
        """A team payload: ``members`` maps user ids to their role ("admin", "developer", "read_only")."""
        tid = self.snowflake()
        return {
            "id": tid,
            "name": "policy team",
            "icon": None,
            "owner_user_id": owner["id"],
            "members": [
                {"user": self.users[uid], "team_id": tid, "membership_state": 2, "permissions": ["*"], "role": role}
                for uid, role in members.items()
            ],
        }

    def add_channel(
        self, guild: dict[str, Any], name: str, *, deny_bot: int = 0, allow_bot: int = 0
    ) -> dict[str, Any]:
        """Another text channel (before the bot connects); ``deny_bot``/``allow_bot``: permission bits
        the bot's member overwrite denies or grants there (e.g. Send Messages, PERM_THREADS)."""
        overwrite = {"id": self.bot_user["id"], "type": 1, "allow": str(allow_bot), "deny": str(deny_bot)}
        overwrites = [overwrite] if deny_bot or allow_bot else []
        channel = {**guild["channels"][0], "id": self.snowflake(), "name": name, "position": len(guild["channels"])}
        channel["permission_overwrites"] = overwrites
        guild["channels"].append(channel)
        self.channels[channel["id"]] = channel
        return channel

    def thread(self, parent: dict[str, Any], starter: dict[str, Any], name: str, owner: dict[str, Any]) -> dict[str, Any]:
        """A public thread started from ``starter`` (its id is the starter message's, as on Discord)."""
        thread = {
            "id": starter["id"],
            "type": 11,
            "guild_id": parent["guild_id"],
            "parent_id": parent["id"],
            "name": name,
            "owner_id": owner["id"],
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": now_iso(),
                "locked": False,
            },
        }
        self.channels[thread["id"]] = thread
        starter["thread"] = thread
        return thread

    def bot_may(self, channel: dict[str, Any], bits: int) -> bool:
        """Whether the bot's member overwrite in ``channel`` grants all of ``bits``."""
        for o in channel.get("permission_overwrites") or []:
            if o["id"] == self.bot_user["id"] and int(o["allow"]) & bits == bits:
                return True
        return False

    @staticmethod
    def _role(rid: str, name: str, perms: int) -> dict[str, Any]:
        return {
            "id": rid,
            "name": name,
            "permissions": str(perms),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    @staticmethod
    def _member(user: dict[str, Any], roles: list[str]) -> dict[str, Any]:
        return {"user": user, "roles": roles, "flags": 0, "joined_at": now_iso(), "deaf": False, "mute": False}

    def member_of(self, guild: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
        member = next(m for m in guild["members"] if m["user"]["id"] == user["id"])
        perms = 0
        for role in guild["roles"]:
            if role["id"] == guild["id"] or role["id"] in member["roles"]:
                perms |= int(role["permissions"])
        return {**member, "permissions": str(perms)}

    def shard_of(self, guild_id: str) -> int:
        return (int(guild_id) >> 22) % self.shard_count

    def dm_channel(self, user: dict[str, Any]) -> dict[str, Any]:
        cid = self.dm_channels.get(user["id"])
        if cid is None:
            cid = self.snowflake()
            self.dm_channels[user["id"]] = cid
            self.channels[cid] = {"id": cid, "type": 1, "recipients": [user], "last_message_id": None}
        return self.channels[cid]

    # ---- server --------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.base}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def _changed(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Wake on every request and gateway frame until ``predicate()`` is truthy; return it."""
        async with self._cond:
            return await asyncio.wait_for(self._cond.wait_for(predicate), timeout)
