"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, for tests of written answers.

Real HTTP (aiohttp in a background thread, so sync and async callers can both use it). Each
test chooses what the "model" does by setting ``reply`` to a ``Reply`` or to a function of the
request body returning one (to answer different questions differently in end-to-end tests)::

    with FakeLLM() as llm:
        llm.reply = Reply("Yes, it was signed [1].")
        backend = OpenAICompatible(llm.url, "fake", "sk-test")

Streaming follows the request's ``"stream"`` unless the reply forces it. Every request body
and its headers are kept in ``requests``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    """What the fake model does with one request.

    ``text``: the answer. ``status``: an HTTP status other than 200 sends an OpenAI-style error.
    ``raw``: sent instead of well-formed JSON (or as an SSE data line when streaming).
    ``delay``: seconds before anything is sent; ``chunk_delay``: seconds between streamed pieces.
    ``stream``: force streaming on or off regardless of the request.
    """

    text: str = ""
    status: int = 200
    raw: str | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    stream: bool | None = None


Responder = Reply | Callable[[dict[str, Any]], Reply]


class FakeLLM:
    def __init__(self, reply: Responder | None = None) -> None:
        self.reply: Responder = reply or Reply("")
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------------
    def start(self) -> FakeLLM:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start_app())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="fake-llm", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake LLM server did not start")
        return self

    async def _start_app(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = getattr(site, "_server", None)
        port = server.sockets[0].getsockname()[1] if server is not None else 0
        self.url = f"http://127.0.0.1:{port}/v1"

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = None

    async def _shutdown(self) -> None:
        """Stop listening, then cancel handlers still sleeping (a "slow model" outlives its test)."""
        if self._runner is not None:
            await self._runner.cleanup()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # the endpoint ----------------------------------------------------------------------------
    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        reply = self.reply(body) if callable(self.reply) else self.reply
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 200:
            error = {"error": {"message": f"fake error {reply.status}", "type": "fake", "code": reply.status}}
            return web.json_response(error, status=reply.status)
        stream = body.get("stream", False) if reply.stream is None else reply.stream
        if stream:
            return await self._sse(request, reply)
        if reply.raw is not None:
            return web.Response(text=reply.raw, content_type="application/json")
        return web.json_response(completion(reply.text))

    async def _sse(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        await response.write(b": keep-alive\n\n")
        if reply.raw is not None:
            lines = [reply.raw]
        else:
            lines = [json.dumps(chunk({"role": "assistant", "content": ""}))]
            lines += [json.dumps(chunk({"content": piece})) for piece in pieces(reply.text)]
            lines.append(json.dumps(chunk({}, finish="stop")))
        for line in [*lines, "[DONE]"]:
            if reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            await response.write(f"data: {line}\n\n".encode())
        await response.write_eof()
        return response


def pieces(text: str) -> list[str]:
    """Words with their trailing spaces, the way servers stream tokens."""
    out: list[str] = []
    for word in text.split(" "):
        out.append(word + " ")
    if out:
        out[-1] = out[-1][:-1]
    return [p for p in out if p]


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
