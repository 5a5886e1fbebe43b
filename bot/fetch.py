"""Fetching an article page for ``/index add url:`` safely: http(s) only, size cap, time limit.

Unless allowed, addresses inside private networks (loopback, link-local cloud metadata, RFC 1918)
are refused, both for IP literals and for names that resolve there, and redirects are followed
by hand so that each hop is checked.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import aiohttp
from yarl import URL

from bot.errors import BotError

MAX_REDIRECTS = 5
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown")


class FetchError(BotError):
    """The page could not be fetched; the message says why."""


def _is_public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_global
    except ValueError:
        return False


class PublicOnlyResolver(aiohttp.abc.AbstractResolver):
    """Resolves with aiohttp's default resolver and drops every non-public address."""

    def __init__(self) -> None:
        self._inner = aiohttp.DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[Any]:
        infos = await self._inner.resolve(host, port, family)
        public = [i for i in infos if _is_public(i["host"])]
        if not public:
            raise OSError(f"{host} resolves only to private addresses")
        return public

    async def close(self) -> None:
        await self._inner.close()


def make_session(*, allow_private: bool, timeout: float) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(resolver=None if allow_private else PublicOnlyResolver())
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        headers={"User-Agent": "policybot/0.1 (article indexer)"},
    )


def check_url(url: str, *, allow_private: bool) -> URL:
    try:
        parsed = URL(url.strip())
    except ValueError as exc:
        raise FetchError("That is not a valid URL.") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError("Only http:// and https:// URLs can be added.")
    if not allow_private:
        try:
            if not ipaddress.ip_address(parsed.host).is_global:
                raise FetchError("That address is inside a private network.")
        except ValueError:
            pass  # a name: the resolver checks where it points
    return parsed


async def fetch_page(
    session: aiohttp.ClientSession, url: str, *, max_bytes: int, allow_private: bool
) -> tuple[str, str]:
    """``(final_url, text)`` of an HTML or text page no larger than ``max_bytes``."""
    target = check_url(url, allow_private=allow_private)
    for _ in range(MAX_REDIRECTS + 1):
        try:
            async with session.get(target, allow_redirects=False) as resp:
                if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                    target = check_url(str(target.join(URL(resp.headers["Location"]))), allow_private=allow_private)
                    continue
                if resp.status != 200:
                    raise FetchError(f"The page answered HTTP {resp.status}.")
                ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if ctype and ctype not in TEXT_TYPES:
                    raise FetchError(f"The page is {ctype}, not HTML or text.")
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise FetchError(f"The page is larger than {max_bytes // 1000} kB.")
                body = bytearray()
                async for block in resp.content.iter_chunked(65536):
                    body += block
                    if len(body) > max_bytes:
                        raise FetchError(f"The page is larger than {max_bytes // 1000} kB.")
                charset = resp.charset or "utf-8"
                try:
                    text = bytes(body).decode(charset, errors="replace")
                except LookupError:
                    text = bytes(body).decode("utf-8", errors="replace")
                return str(target), text
        except TimeoutError as exc:
            raise FetchError("The page took too long to answer.") from exc
        except aiohttp.ClientError as exc:
            raise FetchError(f"Could not fetch the page ({type(exc).__name__}).") from exc
        except OSError as exc:
            raise FetchError(f"Could not fetch the page ({exc}).") from exc
    raise FetchError("Too many redirects.")
