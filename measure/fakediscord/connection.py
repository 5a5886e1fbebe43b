"""One gateway websocket connection (one shard) of the fake: its sequence numbers, shard and
session, and the zlib stream Discord's clients ask for; the world holds one per connected shard."""

from __future__ import annotations

import asyncio
import json
import zlib
from typing import Any

from aiohttp import web


class Gateway:
    """One websocket connection (one shard)."""

    def __init__(self, ws: web.WebSocketResponse, compress: bool) -> None:
        self.ws = ws
        self._z = zlib.compressobj() if compress else None
        self.seq = 0
        self.shard: tuple[int, int] = (0, 1)
        self.session_id = ""
        self.intents = 0
        self.identified = False
        self.heartbeats = 0
        self._lock = asyncio.Lock()

    async def send(self, op: int, d: Any = None, t: str | None = None) -> None:
        async with self._lock:
            s = None
            if op == 0:
                self.seq += 1
                s = self.seq
            data = json.dumps({"op": op, "d": d, "s": s, "t": t})
            if self._z is not None:
                await self.ws.send_bytes(self._z.compress(data.encode()) + self._z.flush(zlib.Z_SYNC_FLUSH))
            else:
                await self.ws.send_str(data)
