"""A real HTTP server on 127.0.0.1 (aiohttp, in a background thread) whose routes each test sets,
and a guard that fails a test when anything connects except through ``index/feeds/_fetch.py``.

The code under test is synchronous (it runs in worker threads in the bot), so the server gets its
own event loop in a thread and the tests stay plain functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

import index.feeds._fetch

FETCH_FILE = str(Path(index.feeds._fetch.__file__).resolve())

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class LocalServer:
    """Routes by path; every request is logged as ``(path, headers)``."""

    base: str = ""
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def text(self, path: str, body: str | bytes, content_type: str = "text/html", **headers: str) -> None:
        """Serve a fixed body at ``path``."""
        data = body.encode() if isinstance(body, str) else body

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(body=data, headers={"Content-Type": content_type, **headers})

        self.routes[path] = handler


@contextlib.contextmanager
def run_server(ssl_context: ssl.SSLContext | None = None) -> Iterator[LocalServer]:
    """Start an aiohttp server on 127.0.0.1 (a free port) in its own thread and event loop."""
    state = LocalServer()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner_box: list[web.AppRunner] = []

    async def dispatch(request: web.Request) -> web.StreamResponse:
        state.requests.append((request.path, dict(request.headers)))
        handler = state.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)

    async def start() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", dispatch)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1]
        state.base = f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
        runner_box.append(runner)
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(10), "local server did not start"
    try:
        yield state
    finally:
        asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        pending = asyncio.all_tasks(loop)  # handlers still sleeping (the slow-feed tests)
        for task in pending:
            task.cancel()
        if pending:

            async def drain() -> None:
                await asyncio.gather(*pending, return_exceptions=True)

            loop.run_until_complete(drain())
        loop.close()


def _through_fetch() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == FETCH_FILE:
            return True
        frame = frame.f_back
    return False


def _loopback(address: object) -> bool:
    try:
        return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback  # type: ignore[index]
    except (ValueError, IndexError, TypeError):
        return False


@pytest.fixture(autouse=True)
def only_fetch_connects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every TCP connect must come from ``index/feeds/_fetch.py`` and go to loopback; anything else (a
    library downloading on its own) is refused, recorded, and fails the test at teardown."""
    refused: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock: socket.socket, address: object) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        if not _through_fetch() or not _loopback(address):
            caller = "".join(traceback.format_stack(limit=12)[:-2])
            refused.append(f"connect to {address!r} outside index.feeds._fetch:\n{caller}")
            raise OSError(f"test guard: connection to {address!r} outside index.feeds._fetch refused")

    def connect(sock: socket.socket, address: object) -> None:
        check(sock, address)
        real_connect(sock, address)  # type: ignore[arg-type]

    def connect_ex(sock: socket.socket, address: object) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield refused
    assert refused == [], "\n".join(refused)
