"""The tests' network guard: every connect and every aiohttp name lookup is limited to loopback.

Autouse where a conftest imports it (the bot and security suites); undone after each test."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
import aiohttp.abc
import aiohttp.connector
import aiohttp.resolver
import pytest

from measure.netguard import guard_network

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}


class LoopbackOnlyResolver(aiohttp.abc.AbstractResolver):
    """Refuses every host name except loopback, so a missed redirect fails at name lookup."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[Any]:
        if host not in LOOPBACK_NAMES:
            raise OSError(f"network guard: refusing to resolve {host!r} in tests")
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every aiohttp resolver and every socket connect is limited to 127.0.0.1 / ::1."""
    for module in (aiohttp.connector, aiohttp.resolver, aiohttp):
        monkeypatch.setattr(module, "DefaultResolver", LoopbackOnlyResolver)
    guard_network(monkeypatch.setattr)
