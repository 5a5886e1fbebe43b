"""Security tests share the bot suite's network guard: every connection is limited to 127.0.0.1."""

from __future__ import annotations

from tests.support.network import network_guard

__all__ = ["network_guard"]
