"""The fake's gateway: HELLO, heartbeats, IDENTIFY (token and privileged intents checked), READY and
GUILD_CREATE per shard, RESUME, and event dispatch to the connection of the guild's shard."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import WSMsgType, web

from measure.fakediscord.connection import Gateway
from measure.fakediscord.records import APP_ID, PRIVILEGED
from measure.fakediscord.world import World


class GatewayServer(World):
    """The websocket side of the fake: one :class:`Gateway` per connected shard."""

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
