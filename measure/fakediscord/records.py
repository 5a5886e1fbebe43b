"""What the fake Discord records and enforces: its constants, Discord's message limits and mention
rules, and the records tests read (requests, rate limits, interactions, attachments)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "fake-token.NOT-A-REAL-TOKEN.abcdefghijklmnop"
DISCORD_EPOCH_MS = 1_420_070_400_000
APP_ID = 1 << 22 | 1
PERM_MANAGE_GUILD = 1 << 5
PERM_ADMIN = 1 << 3
PERM_THREADS = (1 << 35) | (1 << 38)  # create public threads, send messages in threads
PERM_BASIC = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 31)  # view, send, embed, history, use commands
EPHEMERAL = 1 << 6
LOADING = 1 << 7
PRIVILEGED = (1 << 1) | (1 << 8) | (1 << 15)


def json_response(obj: Any, status: int = 200) -> web.Response:
    """Exactly ``application/json`` (no charset): discord.py compares the header verbatim."""
    return web.Response(body=json.dumps(obj).encode(), status=status, headers={"Content-Type": "application/json"})


def error(status: int, code: int, message: str, errors: Any = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return json_response(body, status)


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


# ---- Discord's limits, as Discord enforces them -------------------------------------------------
def message_problems(payload: dict[str, Any]) -> list[str]:
    problems = []
    content = payload.get("content")
    if content is not None and len(content) > 2000:
        problems.append(f"content: {len(content)} > 2000")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        problems.append("embeds: more than 10")
    total = 0
    for i, e in enumerate(embeds):
        title, desc = e.get("title") or "", e.get("description") or ""
        footer = (e.get("footer") or {}).get("text") or ""
        author = (e.get("author") or {}).get("name") or ""
        fields = e.get("fields") or []
        if len(title) > 256:
            problems.append(f"embeds.{i}.title > 256")
        if len(desc) > 4096:
            problems.append(f"embeds.{i}.description {len(desc)} > 4096")
        if len(fields) > 25:
            problems.append(f"embeds.{i}.fields > 25")
        for j, f in enumerate(fields):
            if not f.get("name") or not f.get("value"):
                problems.append(f"embeds.{i}.fields.{j} empty")
            if len(f.get("name") or "") > 256 or len(f.get("value") or "") > 1024:
                problems.append(f"embeds.{i}.fields.{j} too long")
        if len(footer) > 2048 or len(author) > 256:
            problems.append(f"embeds.{i} footer/author too long")
        total += len(title) + len(desc) + len(footer) + len(author)
        total += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in fields)
    if total > 6000:
        problems.append(f"embeds: total {total} > 6000")
    rows = payload.get("components") or []
    if len(rows) > 5:
        problems.append("components: more than 5 rows")
    for row in rows:
        for c in row.get("components") or []:
            if len(c.get("custom_id") or "") > 100 or len(c.get("label") or "") > 80:
                problems.append("component too long")
    return problems


def pings(payload: dict[str, Any]) -> set[str]:
    """Whom a message would notify, following Discord's allowed_mentions rules."""
    content = payload.get("content") or ""
    allowed = payload.get("allowed_mentions")
    found: set[str] = set()
    if "@everyone" in content or "@here" in content:
        found.add("everyone")
    found |= {f"user:{m}" for m in re.findall(r"<@!?(\d+)>", content)}
    found |= {f"role:{m}" for m in re.findall(r"<@&(\d+)>", content)}
    ref = payload.get("message_reference")
    if ref:
        found.add("replied_user")
    if allowed is None:
        return found
    parse = set(allowed.get("parse") or [])
    users = {f"user:{u}" for u in allowed.get("users") or []}
    roles = {f"role:{r}" for r in allowed.get("roles") or []}

    def allowed_target(target: str) -> bool:
        if target == "everyone":
            return "everyone" in parse
        if target.startswith("user:"):
            return "users" in parse or target in users
        if target.startswith("role:"):
            return "roles" in parse or target in roles
        return bool(allowed.get("replied_user", False))

    result = {t for t in found if allowed_target(t)}
    return result


# ---- records ----------------------------------------------------------------------------------
@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class RateLimit:
    """An injected 429: the next ``count`` matching requests are refused with ``retry_after``."""

    method: str
    pattern: str
    count: int
    retry_after: float
    is_global: bool
    hits: int = 0


@dataclass
class Interaction:
    id: str
    token: str
    type: int
    payload: dict[str, Any]
    created: float
    user_id: str
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    original: dict[str, Any] | None = None
    followups: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def deferred(self) -> bool:
        return any(c.get("type") == 5 for c in self.callbacks)

    def messages(self) -> list[dict[str, Any]]:
        """The original response (once it is no longer "thinking…") and every follow-up."""
        out = [self.original] if self.original and not self.original["flags"] & LOADING else []
        return out + [m for m in self.followups if m is not self.original]

    def texts(self) -> str:
        """All visible text of the responses (content, embed titles, descriptions and fields)."""
        parts = []
        for m in self.messages():
            parts.append(m.get("content") or "")
            for e in m.get("embeds") or []:
                parts += [e.get("title") or "", e.get("description") or ""]
                parts += [f"{f.get('name')}\n{f.get('value')}" for f in e.get("fields") or []]
                parts.append((e.get("footer") or {}).get("text") or "")
        return "\n".join(parts)

    def choices(self) -> list[dict[str, Any]] | None:
        for c in self.callbacks:
            if c.get("type") == 8:
                return list((c.get("data") or {}).get("choices") or [])
        return None



@dataclass
class Attachment:
    """An option value that the fake turns into an uploaded attachment on its CDN."""

    filename: str
    data: bytes
    content_type: str = "text/plain"
