"""A small fake Discord (REST + gateway) on 127.0.0.1 for end-to-end tests of the real discord.py client.

It speaks what discord.py 2.7.1 needs (the subset its tests exercise): login, the gateway
with HELLO/heartbeats/IDENTIFY/READY/GUILD_CREATE over zlib-stream, RESUME, sharding via
``GET /gateway/bot``, command sync, interaction callbacks with the 3-second and double-acknowledge
rules, webhook follow-ups and edits, channel messages, typing, DM channels and an attachment CDN.
It enforces Discord's message limits with a 400 like Discord does, and records everything so tests
can wait for (never sleep for) what the bot sent.
"""

from __future__ import annotations

from aiohttp import web

from measure.fakediscord.scenario import Scenario


class FakeDiscord(Scenario):
    """The whole fake: start it on a free port of 127.0.0.1, point discord.py at ``api`` and
    ``gateway_url``, and stop it after the test."""

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
