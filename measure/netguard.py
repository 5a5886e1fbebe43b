"""Keep a process on this machine: every IPv4/IPv6 socket connect to an address that is not loopback
fails. The load benchmark and the test harnesses run the real bot and engine, whose code would
otherwise reach Discord or a feed if a fake were missed."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any


def is_loopback(address: Any) -> bool:
    """Whether a socket address (``(host, port, ...)``) is 127.0.0.0/8 or ::1."""
    try:
        return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except (ValueError, IndexError, TypeError):
        return False


def check(sock: socket.socket, address: Any) -> None:
    """Refuse an internet-family connect outside loopback (Unix sockets pass)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
        raise OSError(f"network guard: refusing to connect to {address!r}")


def guard_network(patch: Callable[[Any, str, Any], None] = setattr) -> None:
    """For the rest of this process (and the children it forks): connect only to loopback.

    ``patch`` sets the guarded methods; a test passes ``monkeypatch.setattr`` to undo them after it."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    patch(socket.socket, "connect", connect)
    patch(socket.socket, "connect_ex", connect_ex)
