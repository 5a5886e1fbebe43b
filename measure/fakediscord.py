"""A small fake Discord (REST + gateway) on 127.0.0.1 for end-to-end tests of the real discord.py client.

It speaks what discord.py 2.7.1 needs (see /work/shared/notes/discord-e2e.md): login, the gateway
with HELLO/heartbeats/IDENTIFY/READY/GUILD_CREATE over zlib-stream, RESUME, sharding via
``GET /gateway/bot``, command sync, interaction callbacks with the 3-second and double-acknowledge
rules, webhook follow-ups and edits, channel messages, typing, DM channels and an attachment CDN.
It enforces Discord's message limits with a 400 like Discord does, and records everything so tests
can wait for (never sleep for) what the bot sent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

TOKEN = "fake-token.NOT-A-REAL-TOKEN.abcdefghijklmnop"
DISCORD_EPOCH_MS = 1_420_070_400_000
APP_ID = 1 << 22 | 1
PERM_MANAGE_GUILD = 1 << 5
PERM_ADMIN = 1 << 3
PERM_BASIC = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 31)  # view, send, embed, history, use commands
EPHEMERAL = 1 << 6
LOADING = 1 << 7
PRIVILEGED = (1 << 1) | (1 << 8) | (1 << 15)


def json_response(obj: Any, status: int = 200) -> web.Response:
    """Exactly ``application/json`` (no charset): discord.py compares the header verbatim."""
    return web.Response(body=json.dumps(obj).encode(), status=status, headers={"Content-Type": "application/json"})


def error(status: int, code: int, message: str, errors: Any = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return json_response(body, status)


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


# ---- Discord's limits, as Discord enforces them -------------------------------------------------
def message_problems(payload: dict[str, Any]) -> list[str]:
    problems = []
    content = payload.get("content")
    if content is not None and len(content) > 2000:
        problems.append(f"content: {len(content)} > 2000")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        problems.append("embeds: more than 10")
    total = 0
    for i, e in enumerate(embeds):
        title, desc = e.get("title") or "", e.get("description") or ""
        footer = (e.get("footer") or {}).get("text") or ""
        author = (e.get("author") or {}).get("name") or ""
        fields = e.get("fields") or []
        if len(title) > 256:
            problems.append(f"embeds.{i}.title > 256")
        if len(desc) > 4096:
            problems.append(f"embeds.{i}.description {len(desc)} > 4096")
        if len(fields) > 25:
            problems.append(f"embeds.{i}.fields > 25")
        for j, f in enumerate(fields):
            if not f.get("name") or not f.get("value"):
                problems.append(f"embeds.{i}.fields.{j} empty")
            if len(f.get("name") or "") > 256 or len(f.get("value") or "") > 1024:
                problems.append(f"embeds.{i}.fields.{j} too long")
        if len(footer) > 2048 or len(author) > 256:
            problems.append(f"embeds.{i} footer/author too long")
        total += len(title) + len(desc) + len(footer) + len(author)
        total += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in fields)
    if total > 6000:
        problems.append(f"embeds: total {total} > 6000")
    rows = payload.get("components") or []
    if len(rows) > 5:
        problems.append("components: more than 5 rows")
    for row in rows:
        for c in row.get("components") or []:
            if len(c.get("custom_id") or "") > 100 or len(c.get("label") or "") > 80:
                problems.append("component too long")
    return problems


def pings(payload: dict[str, Any]) -> set[str]:
    """Whom a message would notify, following Discord's allowed_mentions rules."""
    content = payload.get("content") or ""
    allowed = payload.get("allowed_mentions")
    found: set[str] = set()
    if "@everyone" in content or "@here" in content:
        found.add("everyone")
    found |= {f"user:{m}" for m in re.findall(r"<@!?(\d+)>", content)}
    found |= {f"role:{m}" for m in re.findall(r"<@&(\d+)>", content)}
    ref = payload.get("message_reference")
    if ref:
        found.add("replied_user")
    if allowed is None:
        return found
    parse = set(allowed.get("parse") or [])
    users = {f"user:{u}" for u in allowed.get("users") or []}
    roles = {f"role:{r}" for r in allowed.get("roles") or []}

    def allowed_target(target: str) -> bool:
        if target == "everyone":
            return "everyone" in parse
        if target.startswith("user:"):
            return "users" in parse or target in users
        if target.startswith("role:"):
            return "roles" in parse or target in roles
        return bool(allowed.get("replied_user", False))

    result = {t for t in found if allowed_target(t)}
    return result


# ---- records ----------------------------------------------------------------------------------
@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class RateLimit:
    """An injected 429: the next ``count`` matching requests are refused with ``retry_after``."""

    method: str
    pattern: str
    count: int
    retry_after: float
    is_global: bool
    hits: int = 0


@dataclass
class Interaction:
    id: str
    token: str
    type: int
    payload: dict[str, Any]
    created: float
    user_id: str
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    original: dict[str, Any] | None = None
    followups: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def deferred(self) -> bool:
        return any(c.get("type") == 5 for c in self.callbacks)

    def messages(self) -> list[dict[str, Any]]:
        """The original response (once it is no longer "thinking…") and every follow-up."""
        out = [self.original] if self.original and not self.original["flags"] & LOADING else []
        return out + [m for m in self.followups if m is not self.original]

    def texts(self) -> str:
        """All visible text of the responses (content, embed titles, descriptions and fields)."""
        parts = []
        for m in self.messages():
            parts.append(m.get("content") or "")
            for e in m.get("embeds") or []:
                parts += [e.get("title") or "", e.get("description") or ""]
                parts += [f"{f.get('name')}\n{f.get('value')}" for f in e.get("fields") or []]
                parts.append((e.get("footer") or {}).get("text") or "")
        return "\n".join(parts)

    def choices(self) -> list[dict[str, Any]] | None:
        for c in self.callbacks:
            if c.get("type") == 8:
                return list((c.get("data") or {}).get("choices") or [])
        return None


class Gateway:
    """One websocket connection (one shard)."""

    def __init__(self, ws: web.WebSocketResponse, compress: bool) -> None:
        self.ws = ws
        self._z = zlib.compressobj() if compress else None
        self.seq = 0
        self.shard: tuple[int, int] = (0, 1)
        self.session_id = ""
        self.intents = 0
        self.identified = False
        self.heartbeats = 0
        self._lock = asyncio.Lock()

    async def send(self, op: int, d: Any = None, t: str | None = None) -> None:
        async with self._lock:
            s = None
            if op == 0:
                self.seq += 1
                s = self.seq
            data = json.dumps({"op": op, "d": d, "s": s, "t": t})
            if self._z is not None:
                await self.ws.send_bytes(self._z.compress(data.encode()) + self._z.flush(zlib.Z_SYNC_FLUSH))
            else:
                await self.ws.send_str(data)


class FakeDiscord:
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
        # Discord's limits and failures, switched on by tests (see limit(), deny(), delete_message()).
        self.rate_limits: list[RateLimit] = []
        self.limited: list[str] = []  # "METHOD /path" of every 429 sent
        self.denied_channels: set[str] = set()
        self.time_offset = 0.0  # added to the clock: a test "waits" 15 minutes at once
        self.token_ttl = 15 * 60.0  # an interaction token works for 15 minutes
        self._cond = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.bot_user = self._user("policybot", bot=True, id=APP_ID)
        self._scenario()
        self.app_owner: dict[str, Any] = self.admin  # the application's owner (GET /oauth2/applications/@me)
        self.app_team: dict[str, Any] | None = None  # or a team owns it: see team()

    # ---- Discord's limits and failures ---------------------------------------------------
    def now(self) -> float:
        """The fake's clock (monotonic plus ``time_offset``)."""
        return time.monotonic() + self.time_offset

    def limit(
        self, method: str, pattern: str, *, count: int = 1, retry_after: float = 0.05, is_global: bool = False
    ) -> RateLimit:
        """Refuse the next ``count`` requests matching ``method`` and the path regex with a 429."""
        rule = RateLimit(method, pattern, count, retry_after, is_global)
        self.rate_limits.append(rule)
        return rule

    def deny(self, channel_id: str) -> None:
        """The bot lacks Send Messages in this channel: posts and typing get 403 Missing Permissions."""
        self.denied_channels.add(str(channel_id))

    async def delete_message(self, message: dict[str, Any]) -> None:
        """A user deletes their message (MESSAGE_DELETE); replies referencing it then fail as on Discord."""
        message["deleted"] = True
        data = {"id": message["id"], "channel_id": message["channel_id"]}
        if message.get("guild_id"):
            data["guild_id"] = message["guild_id"]
        await self.dispatch("MESSAGE_DELETE", data, message.get("guild_id"))
        await self._changed()

    async def rename_role(self, guild: dict[str, Any], name: str, new_name: str) -> dict[str, Any]:
        """A server admin renames a role (GUILD_ROLE_UPDATE)."""
        role = next(r for r in guild["roles"] if r["name"] == name)
        role["name"] = new_name
        await self.dispatch("GUILD_ROLE_UPDATE", {"guild_id": guild["id"], "role": role}, guild["id"])
        await self._changed()
        return role

    def _rate_limited(self, method: str, path: str) -> web.Response | None:
        for rule in self.rate_limits:
            if rule.hits < rule.count and rule.method == method and re.fullmatch(rule.pattern, path):
                rule.hits += 1
                self.limited.append(f"{method} {path}")
                body = {"message": "You are being rate limited.", "retry_after": rule.retry_after, "global": rule.is_global, "code": 0}
                headers = {
                    "Content-Type": "application/json",
                    "Via": "1.1 google",  # without it discord.py treats a 429 as a Cloudflare ban (pitfall 11)
                    "Retry-After": str(max(1, round(rule.retry_after))),
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{time.time() + rule.retry_after:.3f}",
                    "X-RateLimit-Reset-After": f"{rule.retry_after:.3f}",
                    "X-RateLimit-Bucket": f"bucket-{abs(hash(rule.pattern)) % 10**8}",
                    "X-RateLimit-Scope": "global" if rule.is_global else "user",
                }
                if rule.is_global:
                    headers["X-RateLimit-Global"] = "true"
                return web.Response(body=json.dumps(body).encode(), status=429, headers=headers)
        return None

    def _token_expired(self, inter: Interaction) -> bool:
        return self.now() - inter.created > self.token_ttl

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

    def add_channel(self, guild: dict[str, Any], name: str, *, deny_bot: int = 0) -> dict[str, Any]:
        """Another text channel (before the bot connects); ``deny_bot``: permission bits the bot's
        member overwrite denies there (e.g. Send Messages)."""
        overwrites = [{"id": self.bot_user["id"], "type": 1, "allow": "0", "deny": str(deny_bot)}] if deny_bot else []
        channel = {**guild["channels"][0], "id": self.snowflake(), "name": name, "position": len(guild["channels"])}
        channel["permission_overwrites"] = overwrites
        guild["channels"].append(channel)
        self.channels[channel["id"]] = channel
        return channel

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

    async def start(self) -> None:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/{name}", self._cdn)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for gw in list(self.gateways):
            await gw.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _changed(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Wake on every request and gateway frame until ``predicate()`` is truthy; return it."""
        async with self._cond:
            return await asyncio.wait_for(self._cond.wait_for(predicate), timeout)

    # ---- gateway -------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        gw = Gateway(ws, request.query.get("compress") == "zlib-stream")
        self.gateways.append(gw)
        await gw.send(10, {"heartbeat_interval": self.heartbeat_ms})
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                payload = json.loads(msg.data)
                await self._on_frame(gw, payload)
                await self._changed()
        finally:
            if gw in self.gateways:
                self.gateways.remove(gw)
            await self._changed()
        return ws

    async def _on_frame(self, gw: Gateway, payload: dict[str, Any]) -> None:
        op, d = payload.get("op"), payload.get("d") or {}
        if op == 1:
            gw.heartbeats += 1
            await gw.send(11)
        elif op == 2:
            self.identifies.append(d)
            if d.get("token") != self.token:
                await gw.ws.close(code=4004, message=b"Authentication failed.")
                return
            if int(d.get("intents", 0)) & PRIVILEGED & ~self.privileged_intents:
                await gw.ws.close(code=4014, message=b"Disallowed intent(s).")
                return
            gw.intents = int(d.get("intents", 0))
            shard = d.get("shard") or [0, 1]
            gw.shard = (int(shard[0]), int(shard[1]))
            gw.session_id = f"session-{self.snowflake()}"
            gw.identified = True
            guilds = [g for g in self.guilds.values() if self.shard_of(g["id"]) % gw.shard[1] == gw.shard[0]]
            await gw.send(
                0,
                {
                    "v": 10,
                    "user": self.bot_user,
                    "guilds": [{"id": g["id"], "unavailable": True} for g in guilds],
                    "session_id": gw.session_id,
                    "resume_gateway_url": self.gateway_url,
                    "application": {"id": str(APP_ID), "flags": 0},
                    "shard": list(gw.shard),
                    "private_channels": [],
                    "relationships": [],
                    "presences": [],
                    "geo_ordered_rtc_regions": [],
                },
                "READY",
            )
            for g in guilds:
                await gw.send(0, g, "GUILD_CREATE")
        elif op == 6:
            self.resumes.append(d)
            gw.identified = True
            gw.session_id = d.get("session_id", "")
            gw.seq = int(d.get("seq") or 0)
            await gw.send(0, {}, "RESUMED")

    def _gateway_for(self, guild_id: str | None) -> Gateway:
        shard = self.shard_of(guild_id) if guild_id else 0
        for gw in reversed(self.gateways):  # the newest connection: a restarted bot replaces the old one
            if gw.identified and not gw.ws.closed and gw.shard[0] == shard:
                return gw
        raise AssertionError(f"no identified gateway connection for shard {shard}")

    async def dispatch(self, event: str, data: dict[str, Any], guild_id: str | None = None) -> None:
        await self._gateway_for(guild_id).send(0, data, event)

    async def send_op(self, op: int, d: Any = None, shard: int = 0) -> None:
        gw = next(g for g in self.gateways if g.shard[0] == shard)
        await gw.send(op, d)

    # ---- REST ----------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        body: Any = None
        if request.body_exists:
            if request.content_type.startswith("multipart/"):
                form = await request.post()
                body = json.loads(str(form.get("payload_json") or "{}"))
            else:
                raw = await request.read()
                body = json.loads(raw) if raw else None
        self.requests.append(Request(request.method, path, dict(request.query), body))
        try:
            return await self._route(request.method, path, request, body)
        finally:
            await self._changed()

    async def _route(self, method: str, path: str, request: web.Request, body: Any) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        webhook = path.startswith("/webhooks/") or path.startswith("/interactions/")
        if not webhook and auth != f"Bot {self.token}":
            return error(401, 0, "401: Unauthorized")
        if (limited := self._rate_limited(method, path)) is not None:
            return limited
        routes: list[tuple[str, str, Callable[..., Any]]] = [
            ("GET", r"/users/@me", self._me),
            ("GET", r"/oauth2/applications/@me", self._app_info),
            ("GET", r"/gateway/bot", self._gateway_bot),
            ("GET", r"/gateway", self._gateway_plain),
            ("PUT", r"/applications/(?P<app>\d+)/commands", self._sync),
            ("PUT", r"/applications/(?P<app>\d+)/guilds/(?P<guild>\d+)/commands", self._sync),
            ("POST", r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback", self._callback),
            ("POST", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)", self._followup),
            ("GET", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)", self._webhook_get),
            ("PATCH", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)", self._webhook_edit),
            ("DELETE", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)", self._webhook_del),
            ("POST", r"/channels/(?P<cid>\d+)/messages", self._channel_send),
            ("PATCH", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)", self._channel_edit),
            ("POST", r"/channels/(?P<cid>\d+)/typing", self._typing),
            ("GET", r"/channels/(?P<cid>\d+)", self._get_channel),
            ("POST", r"/users/@me/channels", self._create_dm),
        ]
        for m, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if m == method and match:
                result = handler(body=body, query=dict(request.query), **match.groupdict())
                if asyncio.iscoroutine(result):
                    result = await result
                return result
        self.unknown_routes.append(f"{method} {path}")
        return error(404, 0, "404: Not Found")

    def _me(self, **_: Any) -> web.Response:
        return json_response(self.bot_user)

    def _app_info(self, **_: Any) -> web.Response:
        return json_response(
            {
                "id": str(APP_ID),
                "name": "policybot",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.app_owner,
                "verify_key": "0" * 64,
                "flags": 0,
                "interactions_endpoint_url": None,
                "team": self.app_team,
            }
        )

    def _gateway_bot(self, **_: Any) -> web.Response:
        return json_response(
            {
                "url": self.gateway_url,
                "shards": self.shard_count,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
            }
        )

    def _gateway_plain(self, **_: Any) -> web.Response:
        return json_response({"url": self.gateway_url})

    def _sync(self, body: Any, app: str, guild: str | None = None, **_: Any) -> web.Response:
        scope = guild or "global"
        out = []
        for cmd in body or []:
            item = {**cmd, "id": self.snowflake(), "application_id": app, "version": self.snowflake()}
            if guild:
                item["guild_id"] = guild
            out.append(item)
        self.commands[scope] = out
        return json_response(out)

    def command(self, name: str) -> tuple[dict[str, Any], str]:
        """A synced command by name, and its scope ("global" or a guild id)."""
        for scope, cmds in self.commands.items():
            for c in cmds:
                if c["name"] == name:
                    return c, scope
        raise AssertionError(f"command {name!r} was never synced (synced: {list(self.commands)})")

    # messages
    def _new_message(
        self,
        channel: dict[str, Any],
        payload: dict[str, Any],
        *,
        author: dict[str, Any] | None = None,
        flags: int = 0,
        interaction: Interaction | None = None,
        mtype: int = 0,
    ) -> dict[str, Any]:
        mid = self.snowflake()
        msg: dict[str, Any] = {
            "id": mid,
            "channel_id": channel["id"],
            "type": mtype,
            "content": payload.get("content") or "",
            "author": author or self.bot_user,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "pinned": False,
            "flags": flags | int(payload.get("flags") or 0),
        }
        if channel.get("guild_id"):
            msg["guild_id"] = channel["guild_id"]
        if payload.get("message_reference"):
            ref = payload["message_reference"]
            msg["message_reference"] = {k: str(v) for k, v in ref.items() if k.endswith("_id")}
            msg["type"] = 19
        if interaction is not None:
            user = self.users[interaction.user_id]
            msg["interaction_metadata"] = {"id": interaction.id, "type": interaction.type, "user": user}
        self.messages[mid] = msg
        self.message_payloads[mid] = [payload]
        return msg

    def _edit(self, msg: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        for key in ("content", "embeds", "components"):
            if key in payload and payload[key] is not None:
                msg[key] = payload[key]
        msg["flags"] &= ~LOADING
        msg["edited_timestamp"] = now_iso()
        self.message_payloads.setdefault(msg["id"], []).append(payload)
        return msg

    def _check(self, where: str, payload: dict[str, Any]) -> web.Response | None:
        problems = message_problems(payload or {})
        if problems:
            self.rejected.append((where, problems))
            return error(400, 50035, "Invalid Form Body", problems)
        return None

    async def _channel_send(self, body: Any, cid: str, **_: Any) -> web.Response:
        channel = self.channels.get(cid)
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        if cid in self.denied_channels:
            return error(403, 50013, "Missing Permissions")
        if (bad := self._check(f"POST channel {cid}", body)) is not None:
            return bad
        ref = (body or {}).get("message_reference")
        if ref:
            target = self.messages.get(str(ref.get("message_id")))
            if target is None or target.get("deleted"):
                if ref.get("fail_if_not_exists", True):
                    errors = {"message_reference": {"_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE", "message": "Unknown message"}]}}
                    self.rejected.append((f"POST channel {cid}", ["reply to a deleted message"]))
                    return error(400, 50035, "Invalid Form Body", errors)
                body = {k: v for k, v in body.items() if k != "message_reference"}  # sent as a plain message
        msg = self._new_message(channel, body)
        # Discord echoes the bot's own messages back over the gateway (pitfall 12).
        await self.dispatch("MESSAGE_CREATE", msg, channel.get("guild_id"))
        return json_response(msg)

    def _channel_edit(self, body: Any, cid: str, mid: str, **_: Any) -> web.Response:
        msg = self.messages.get(mid)
        if msg is None:
            return error(404, 10008, "Unknown Message")
        if (bad := self._check(f"PATCH message {mid}", body)) is not None:
            return bad
        return json_response(self._edit(msg, body))

    def _typing(self, cid: str, **_: Any) -> web.Response:
        if cid in self.denied_channels:
            return error(403, 50013, "Missing Permissions")
        self.typing.append(cid)
        return web.Response(status=204)

    def _get_channel(self, cid: str, **_: Any) -> web.Response:
        channel = self.channels.get(cid)
        return json_response(channel) if channel else error(404, 10003, "Unknown Channel")

    def _create_dm(self, body: Any, **_: Any) -> web.Response:
        user = self.users[str(body["recipient_id"])]
        return json_response(self.dm_channel(user))

    async def _cdn(self, request: web.Request) -> web.Response:
        data = self.cdn.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, headers={"Content-Type": "application/octet-stream"})

    # interactions
    def _interaction(self, token: str) -> Interaction | None:
        return next((i for i in self.interactions.values() if i.token == token), None)

    def _callback(self, body: Any, iid: str, token: str, **_: Any) -> web.Response:
        inter = self.interactions.get(iid)
        if inter is None or inter.token != token:
            return error(404, 10062, "Unknown interaction")
        if self.now() - inter.created > self.interaction_deadline and not inter.acknowledged:
            inter.errors.append({"code": 10062})
            return error(404, 10062, "Unknown interaction")
        if inter.acknowledged:
            inter.errors.append({"code": 40060})
            return error(400, 40060, "Interaction has already been acknowledged.")
        kind = int(body["type"])
        data = body.get("data") or {}
        if kind in (4, 7) and (bad := self._check(f"callback {iid}", data)) is not None:
            return bad
        inter.callbacks.append(body)
        channel = self._interaction_channel(inter)
        response: dict[str, Any] = {
            "interaction": {
                "id": iid,
                "type": inter.type,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & EPHEMERAL),
            },
        }
        if kind == 4:
            inter.original = self._new_message(channel, data, interaction=inter, mtype=20)
        elif kind == 5:
            flags = int(data.get("flags") or 0)
            inter.original = self._new_message(channel, {"flags": flags}, interaction=inter, flags=LOADING, mtype=20)
        elif kind == 6:
            inter.original = self.messages[inter.payload["message"]["id"]]
        elif kind == 7:
            msg = self.messages[inter.payload["message"]["id"]]
            inter.original = self._edit(msg, data)
        if inter.original is not None and kind in (4, 5, 7):
            response["interaction"]["response_message_id"] = inter.original["id"]
            response["resource"] = {"type": kind, "message": inter.original}
        return json_response(response)

    def _interaction_channel(self, inter: Interaction) -> dict[str, Any]:
        return self.channels[inter.payload["channel_id"]]

    def _followup(self, body: Any, app: str, token: str, **_: Any) -> web.Response:
        inter = self._interaction(token)
        if inter is None or not inter.acknowledged:
            return error(404, 10015, "Unknown Webhook")
        if self._token_expired(inter):
            return error(401, 50027, "Invalid Webhook Token")
        if (bad := self._check(f"follow-up {inter.id}", body)) is not None:
            return bad
        original = inter.original
        if original is not None and original["flags"] & LOADING:
            # The first follow-up after a "thinking" defer replaces the loading message.
            payload = {**body, "flags": original["flags"] & EPHEMERAL}
            msg = self._edit(original, payload)
            msg["flags"] = original["flags"] & EPHEMERAL
            self.message_payloads[msg["id"]][-1] = body
        else:
            msg = self._new_message(self._interaction_channel(inter), body, interaction=inter)
        inter.followups.append(msg)
        return json_response(msg)

    def _webhook_message(self, token: str, mid: str) -> tuple[Interaction | None, dict[str, Any] | None]:
        inter = self._interaction(token)
        if inter is None or self._token_expired(inter):
            return None, None
        if mid == "@original":
            return inter, inter.original
        return inter, self.messages.get(mid)

    def _webhook_get(self, token: str, mid: str, **_: Any) -> web.Response:
        _inter, found = self._webhook_message(token, mid)
        return json_response(found) if found else error(404, 10008, "Unknown Message")

    def _webhook_edit(self, body: Any, token: str, mid: str, **_: Any) -> web.Response:
        expired = self._interaction(token)
        if expired is not None and self._token_expired(expired):
            return error(401, 50027, "Invalid Webhook Token")
        inter, msg = self._webhook_message(token, mid)
        if inter is None or msg is None:
            return error(404, 10008, "Unknown Message")
        if (bad := self._check(f"edit {mid}", body)) is not None:
            return bad
        return json_response(self._edit(msg, body))

    def _webhook_del(self, token: str, mid: str, **_: Any) -> web.Response:
        _inter, found = self._webhook_message(token, mid)
        if found is None:
            return error(404, 10008, "Unknown Message")
        found["deleted"] = True
        return web.Response(status=204)

    # ---- scenario helpers (what a user does) --------------------------------------------------
    def _base_interaction(
        self, itype: int, user: dict[str, Any], guild: dict[str, Any] | None, channel: dict[str, Any] | None
    ) -> dict[str, Any]:
        iid = self.snowflake()
        payload: dict[str, Any] = {
            "id": iid,
            "application_id": str(APP_ID),
            "type": itype,
            "token": f"itoken-{iid}",
            "version": 1,
            "attachment_size_limit": 10 * 1024 * 1024,
            "locale": "en-US",
            "app_permissions": str(PERM_BASIC),
            "entitlements": [],
        }
        if guild is not None:
            channel = channel or guild["channels"][0]
            payload.update(
                guild_id=guild["id"],
                guild={"id": guild["id"], "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=self.member_of(guild, user),
                context=0,
                authorizing_integration_owners={"0": guild["id"]},
            )
        else:
            channel = channel or self.dm_channel(user)
            payload.update(user=user, context=1, authorizing_integration_owners={"0": self.guild["id"]})
        payload["channel"] = channel
        payload["channel_id"] = channel["id"]
        return payload

    async def _deliver(self, payload: dict[str, Any], user: dict[str, Any]) -> Interaction:
        inter = Interaction(payload["id"], payload["token"], payload["type"], payload, self.now(), user["id"])
        self.interactions[inter.id] = inter
        await self.dispatch("INTERACTION_CREATE", payload, payload.get("guild_id"))
        await self._changed()
        return inter

    def _options(self, options: dict[str, Any], resolved: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for name, value in options.items():
            if isinstance(value, Attachment):
                aid = self.snowflake()
                self.cdn[f"{aid}-{value.filename}"] = value.data
                resolved.setdefault("attachments", {})[aid] = {
                    "id": aid,
                    "filename": value.filename,
                    "size": len(value.data),
                    "url": f"{self.base}/cdn/{aid}-{value.filename}",
                    "proxy_url": f"{self.base}/cdn/{aid}-{value.filename}",
                    "content_type": value.content_type,
                }
                out.append({"name": name, "type": 11, "value": aid})
            elif isinstance(value, dict) and "guild_id" in value:  # a guild channel (channel option)
                resolved.setdefault("channels", {})[value["id"]] = {**value, "permissions": str(PERM_BASIC)}
                out.append({"name": name, "type": 7, "value": value["id"]})
            elif isinstance(value, bool):
                out.append({"name": name, "type": 5, "value": value})
            elif isinstance(value, int):
                out.append({"name": name, "type": 4, "value": value})
            else:
                out.append({"name": name, "type": 3, "value": value})
        return out

    async def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: dict[str, Any] | None = None,
        sub: str | None = None,
        dm: bool = False,
        guild: dict[str, Any] | None = None,
        forge: Callable[[dict[str, Any]], None] | None = None,
    ) -> Interaction:
        """A user runs ``/name [sub] options…`` in the guild channel (or in their DM with the bot).

        ``forge`` may rewrite the payload before delivery (a member claiming roles it lacks…)."""
        user = user or self.alice
        command, scope = self.command(name)
        resolved: dict[str, Any] = {}
        opts = self._options(options or {}, resolved)
        if sub is not None:
            opts = [{"name": sub, "type": 1, "options": opts}]
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": opts}
        if resolved:
            data["resolved"] = resolved
        if scope != "global":
            data["guild_id"] = scope
        payload = self._base_interaction(2, user, None if dm else (guild or self.guild), None)
        payload["data"] = data
        if forge is not None:
            forge(payload)
        return await self._deliver(payload, user)

    async def autocomplete(
        self,
        name: str,
        sub: str | None,
        option: str,
        value: str,
        *,
        user: dict[str, Any] | None = None,
        guild: dict[str, Any] | None = None,
    ) -> Interaction:
        user = user or self.admin
        command, scope = self.command(name)
        opts: list[dict[str, Any]] = [{"name": option, "type": 3, "value": value, "focused": True}]
        if sub is not None:
            opts = [{"name": sub, "type": 1, "options": opts}]
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": opts}
        if scope != "global":
            data["guild_id"] = scope
        payload = self._base_interaction(4, user, guild or self.guild, None)
        payload["data"] = data
        return await self._deliver(payload, user)

    async def click(
        self, message: dict[str, Any], custom_id: str, *, user: dict[str, Any] | None = None
    ) -> Interaction:
        """A user clicks a button on a message the bot sent."""
        user = user or self.alice
        channel = self.channels[message["channel_id"]]
        guild = self.guilds.get(channel.get("guild_id") or "")
        payload = self._base_interaction(3, user, guild, channel)
        payload["data"] = {"custom_id": custom_id, "component_type": 2}
        payload["message"] = message
        return await self._deliver(payload, user)

    async def user_message(
        self,
        content: str,
        *,
        user: dict[str, Any] | None = None,
        dm: bool = False,
        mention_bot: bool = False,
        channel: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A user writes in the guild channel (or ``channel``), or in their DM with the bot."""
        user = user or self.alice
        channel = self.dm_channel(user) if dm else (channel or self.channel)
        if mention_bot:
            content = f"<@{APP_ID}> {content}"
        msg = self._new_message(channel, {"content": content}, author=user)
        if mention_bot:
            msg["mentions"] = [self.bot_user]
        if not dm and not mention_bot and not any(gw.intents & (1 << 15) for gw in self.gateways):
            msg["content"] = ""  # no message-content intent: Discord blanks guild messages
        await self.dispatch("MESSAGE_CREATE", msg, channel.get("guild_id"))
        await self._changed()
        return msg

    # ---- queries for assertions ------------------------------------------------------------
    def bot_messages(self, channel_id: str | None = None) -> list[dict[str, Any]]:
        return [
            m
            for m in self.messages.values()
            if m["author"]["id"] == self.bot_user["id"] and (channel_id is None or m["channel_id"] == channel_id)
        ]

    def replies_to(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            m
            for m in self.bot_messages(message["channel_id"])
            if (m.get("message_reference") or {}).get("message_id") == str(message["id"])
        ]

    def all_payloads(self) -> list[dict[str, Any]]:
        """Every message body the bot sent or edited (for allowed_mentions checks)."""
        bot_id = self.bot_user["id"]
        return [
            p
            for mid, payloads in self.message_payloads.items()
            if self.messages[mid]["author"]["id"] == bot_id
            for p in payloads
            if isinstance(p, dict)
        ]


@dataclass
class Attachment:
    """An option value that the fake turns into an uploaded attachment on its CDN."""

    filename: str
    data: bytes
    content_type: str = "text/plain"
