"""Loaded by a bot process that a test starts: point discord.py at the fake Discord, allow only loopback.

The product has no test hooks; this file (on PYTHONPATH only in tests) redirects the two class
attributes discord.py builds its URLs from, and refuses any connection that is not to loopback.
"""

from __future__ import annotations

import os

_API = os.environ.get("FAKE_DISCORD_API")
_GATEWAY = os.environ.get("FAKE_DISCORD_GATEWAY")

if _API and _GATEWAY:
    import ipaddress
    import socket
    from urllib.parse import urlsplit

    for _url in (_API, _GATEWAY):
        if urlsplit(_url).hostname not in ("127.0.0.1", "localhost"):
            raise SystemExit(f"sitecustomize: refusing non-loopback fake Discord URL {_url}")

    _real_connect = socket.socket.connect

    def _guarded_connect(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0]).split("%")[0]  # type: ignore[index]
            if not ipaddress.ip_address(host).is_loopback:
                raise OSError(f"network guard: refusing to connect to {address!r}")
        _real_connect(sock, address)  # type: ignore[arg-type]

    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]

    import discord.gateway
    import discord.http
    import yarl

    discord.http.Route.BASE = _API
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(_GATEWAY)
