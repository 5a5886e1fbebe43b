"""The fake's REST API: routes, the token check, injected rate limits and missing permissions,
command sync, channel messages, interaction callbacks, webhook follow-ups and edits, the CDN.

Message bodies are checked against Discord's limits (a 400 like Discord's), and interaction
tokens and the 3-second first response expire as on Discord.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from measure.fakediscord.gateway import GatewayServer
from measure.fakediscord.records import (
    APP_ID,
    EPHEMERAL,
    LOADING,
    PERM_THREADS,
    Interaction,
    RateLimit,
    Request,
    error,
    json_response,
    message_problems,
    now_iso,
)


class RestServer(GatewayServer):
    """The HTTP side of the fake (``/api/v10/...`` and ``/cdn/...``)."""

    # ---- Discord's limits and failures ---------------------------------------------------
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

    def hide(self, channel_id: str) -> None:
        """The bot lost View Channel here: besides posts and typing, edits of its messages get 403 Missing Access."""
        self.deny(channel_id)
        self.hidden_channels.add(str(channel_id))

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

    # ---- REST ----------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        body: Any = None
        if request.body_exists:
            if request.content_type.startswith("multipart/"):
                form = await request.post()
                body = json.loads(str(form.get("payload_json") or "{}"))
                uploads = [v for k, v in form.items() if k.startswith("files[") and isinstance(v, web.FileField)]
                if uploads:
                    body["attachments"] = [self._upload(v.filename, v.file.read()) for v in uploads]
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
            ("POST", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)/threads", self._thread_from_message),
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

    def _upload(self, filename: str, data: bytes) -> dict[str, Any]:
        """A file the bot sent, kept on the fake's CDN like an attachment a user uploads."""
        aid = self.snowflake()
        self.cdn[f"{aid}-{filename}"] = data
        url = f"{self.base}/cdn/{aid}-{filename}"
        return {"id": aid, "filename": filename, "size": len(data), "url": url, "proxy_url": url}

    def attachment_data(self, attachment: dict[str, Any]) -> bytes:
        """The bytes of a file the bot sent (an entry of a message's ``attachments``)."""
        return self.cdn[f"{attachment['id']}-{attachment['filename']}"]

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
            item = {"type": 1, "description": "", **cmd, "id": self.snowflake(), "application_id": app}
            item["version"] = self.snowflake()  # Discord fills a menu command's empty description and the type
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
            "attachments": payload.get("attachments") or [],
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
        for key in ("content", "embeds", "components", "attachments"):
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

    async def _thread_from_message(self, body: Any, cid: str, mid: str, **_: Any) -> web.Response:
        """The bot starts a public thread from a message: THREAD_CREATE to the bot, the thread back."""
        channel, starter = self.channels.get(cid), self.messages.get(mid)
        if channel is None or starter is None or starter["channel_id"] != cid:
            return error(404, 10008, "Unknown Message")
        if channel.get("type", 0) != 0 or "thread" in starter:
            return error(400, 160004, "A thread has already been created for this message")
        if cid in self.denied_channels or not self.bot_may(channel, PERM_THREADS):
            return error(403, 50013, "Missing Permissions")
        name = str((body or {}).get("name") or "")
        if not 1 <= len(name) <= 100:
            self.rejected.append((f"POST thread {cid}/{mid}", [f"thread name of {len(name)} characters"]))
            return error(400, 50035, "Invalid Form Body")
        thread = self.thread(channel, starter, name, self.bot_user)
        member = {"id": thread["id"], "user_id": self.bot_user["id"], "join_timestamp": now_iso(), "flags": 0}
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True, "member": member}, thread["guild_id"])
        return json_response({**thread, "member": member})

    def _channel_edit(self, body: Any, cid: str, mid: str, **_: Any) -> web.Response:
        msg = self.messages.get(mid)
        if msg is None:
            return error(404, 10008, "Unknown Message")
        if cid in self.hidden_channels:
            return error(403, 50001, "Missing Access")
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
