"""Loaded by a bot process that a test starts: point discord.py at the fake Discord, allow only loopback.

The product has no test hooks; this file (on PYTHONPATH only in tests) redirects the two class
attributes discord.py builds its URLs from, and refuses any connection that is not to loopback.
With TEST_MODULES_OUT set it writes the names of the modules the process imported when it exits,
so a test can tell that a command finished without loading the model.
"""

from __future__ import annotations

import atexit
import os
import sys


def _write_modules(path: str) -> None:
    with open(path, "w") as out:
        out.write("\n".join(sorted(sys.modules)) + "\n")


if os.environ.get("TEST_MODULES_OUT"):
    atexit.register(_write_modules, os.environ["TEST_MODULES_OUT"])

_API = os.environ.get("FAKE_DISCORD_API")
_GATEWAY = os.environ.get("FAKE_DISCORD_GATEWAY")

if _API and _GATEWAY:
    from urllib.parse import urlsplit

    from measure.netguard import guard_network

    for _url in (_API, _GATEWAY):
        if urlsplit(_url).hostname not in ("127.0.0.1", "localhost"):
            raise SystemExit(f"sitecustomize: refusing non-loopback fake Discord URL {_url}")

    guard_network()

    import discord.gateway
    import discord.http
    import yarl

    discord.http.Route.BASE = _API
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(_GATEWAY)
