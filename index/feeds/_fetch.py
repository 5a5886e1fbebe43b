"""The one way out to the network: GET for feeds, pages and ``/index add url:`` (blocking; run it in a
worker thread). Every address of every hop is checked and then connected to as checked, and size,
time and redirects are bounded, so a hostile URL or server costs one short :class:`FetchError`."""

from __future__ import annotations

import codecs
import contextlib
import http.client
import ipaddress
import logging
import socket
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from index.errors import FetchError

Kind = Literal["feed", "page", "any"]
Resolver = Callable[[str, int], Sequence[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

log = logging.getLogger(__name__)

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
RETRY_CODES = frozenset({429, 503})
MAX_RETRY_AFTER = 24 * 3600.0
"""Seconds: a longer ``Retry-After`` (or a date far ahead) is cut to this, so a hostile server
cannot park a feed for ever."""
_CHUNK = 16 * 1024
MAX_PENDING_LOOKUPS = 16
"""Name lookups that may be in flight at once in the process. A lookup given up on keeps its thread
until the system resolver returns, so a feed list of hosts with silent name servers could otherwise
pile up threads without bound; past the cap a fetch fails at once instead."""

#: Content types accepted per use. Feeds: any XML flavour (RSS, Atom, RDF) or text; pages: HTML or text.
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml")
PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


@dataclass(frozen=True)
class FetchOptions:
    """Limits for one fetch. Defaults suit news pages; the caller maps ``POLICYBOT_FETCH_*`` onto them."""

    max_bytes: int = 5_000_000
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    deadline: float = 30.0
    max_redirects: int = 5
    allow_private: bool = False
    user_agent: str = "policybot/0.1 (news feed reader)"
    ca_certs: str | None = None  # CA bundle to trust instead of the system store (an intranet CA, tests)


class RetryLater(FetchError):
    """HTTP 429 or 503: the server asks to be left alone; ``retry_after`` is its ``Retry-After`` in
    seconds (bounded to :data:`MAX_RETRY_AFTER`), or None when it sent none that can be read."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        wait = f", retry after {retry_after:.0f} s" if retry_after is not None else ""
        super().__init__(f"HTTP {status}{wait}")
        self.status = status
        self.retry_after = retry_after


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from ``now`` (delta-seconds or an HTTP date), clamped to
    ``[0, MAX_RETRY_AFTER]``; None when absent or unreadable."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        seconds = float(int(text[:12]))
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass(frozen=True)
class FetchResult:
    """What a fetch returned. ``not_modified`` is True for a 304 (then ``body`` is empty)."""

    url: str
    final_url: str
    status: int
    content_type: str
    body: bytes
    etag: str | None
    last_modified: str | None
    not_modified: bool

    def text(self) -> str:
        """The body as text: in the declared charset when that is a web text encoding, else UTF-8,
        else cp1252. Never raises: a bogus label is ignored, as browsers do."""
        charset = _charset(self.content_type)
        for encoding in (charset, "utf-8"):
            if encoding:
                try:
                    return self.body.decode(encoding)
                except (LookupError, ValueError):  # ValueError: UnicodeError and friends
                    continue
        return self.body.decode("cp1252", errors="replace")


#: Codecs Python accepts as a charset label that are not web text encodings (they fail on, or
#: rewrite, ordinary text); a page declaring one is read as if it declared none.
_NOT_CHARSETS = frozenset({"punycode", "idna", "unicode_escape", "raw_unicode_escape", "utf_7", "undefined"})


def _charset(content_type: str) -> str:
    """The usable ``charset=`` of a Content-Type, or ``""``."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset":
            label = value.strip("\"' ")
            try:
                name = codecs.lookup(label).name.replace("-", "_")
            except (LookupError, ValueError):
                return ""
            return "" if name in _NOT_CHARSETS else label
    return ""


def default_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), in resolver order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:  # gaierror, and UnicodeError / NUL for names no resolver takes
        raise FetchError(f"cannot resolve host {host}") from exc
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%")[0]
        if address not in addresses:
            addresses.append(address)
    return addresses


def address_refusal(address: str, *, allow_private: bool) -> str | None:
    """Why connecting to ``address`` is refused, or None when it is allowed."""
    try:
        ip: IPAddress = ipaddress.ip_address(address)
    except ValueError:
        return f"{address} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_link_local:
        return f"{ip} is a link-local address (refused always: cloud metadata lives there)"
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if ip.is_unspecified:
        return f"{ip} is an unspecified address"
    if ip.is_reserved:
        return f"{ip} is a reserved address"
    if not ip.is_global:
        if allow_private and (ip.is_private or ip.is_loopback or ip in _SHARED):
            return None
        kind = "loopback" if ip.is_loopback else "private"
        return f"{ip} is a {kind} address"
    return None


_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: private in all but name


def content_type_allowed(content_type: str, kind: Kind) -> bool:
    """Whether a response's media type suits the use (a missing type is let through to the parser)."""
    media = content_type.split(";")[0].strip().lower()
    if kind == "any" or not media:
        return True
    if kind == "feed":
        return media in FEED_TYPES or media.endswith("+xml") or media.startswith("text/")
    return media in PAGE_TYPES


def fetch(
    url: str,
    *,
    kind: Kind = "any",
    options: FetchOptions | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    resolver: Resolver | None = None,
) -> FetchResult:
    """GET ``url`` safely (every hop checked, bounded); raises FetchError with the reason, and nothing else.

    ``etag`` / ``last_modified`` are the validators from the previous fetch; a 304 answer gives a
    result with ``not_modified=True`` carrying them back. ``resolver`` is for tests only.
    """
    opts = options or FetchOptions()
    watchdog = _Watchdog(opts.deadline)
    try:
        return _fetch(url, kind, opts, resolver or default_resolver, watchdog, etag, last_modified)
    except Exception as exc:
        if watchdog.expired:  # the watchdog shut the socket: whatever broke, the deadline is why
            raise FetchError(f"took longer than {opts.deadline:g} s") from exc
        if isinstance(exc, FetchError):
            raise
        if isinstance(exc, (ValueError, LookupError, OSError, http.client.HTTPException, HTTPError)):
            raise FetchError(f"malformed URL or response ({type(exc).__name__})") from exc
        raise
    finally:
        watchdog.close()


def _fetch(
    url: str,
    kind: Kind,
    opts: FetchOptions,
    resolve: Resolver,
    watchdog: _Watchdog,
    etag: str | None,
    last_modified: str | None,
) -> FetchResult:
    visited: set[str] = set()
    current = url
    for _hop in range(opts.max_redirects + 1):
        if current in visited:
            raise FetchError("redirect loop")
        visited.add(current)
        pool, response = _request(current, opts, resolve, watchdog, etag, last_modified)
        try:
            status = response.status
            if status in REDIRECT_CODES:
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"HTTP {status} redirect without a Location")
                try:
                    current = urljoin(current, location.strip())
                except ValueError as exc:  # e.g. "http://[x/": Invalid IPv6 URL
                    raise FetchError(f"HTTP {status} redirect to a malformed URL") from exc
                continue
            if status == 304:
                return FetchResult(
                    url=url,
                    final_url=current,
                    status=304,
                    content_type="",
                    body=b"",
                    etag=response.headers.get("ETag") or etag,
                    last_modified=response.headers.get("Last-Modified") or last_modified,
                    not_modified=True,
                )
            if status in RETRY_CODES:
                raise RetryLater(status, parse_retry_after(response.headers.get("Retry-After")))
            if not 200 <= status < 300 or status in (204, 206):
                raise FetchError(f"HTTP {status}")
            content_type = response.headers.get("Content-Type", "")
            if not content_type_allowed(content_type, kind):
                raise FetchError(f"unexpected content type {content_type.split(';')[0].strip()} for a {kind}")
            body = _read_body(response, opts, watchdog)
            return FetchResult(
                url=url,
                final_url=current,
                status=status,
                content_type=content_type,
                body=body,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                not_modified=False,
            )
        finally:
            response.close()
            pool.close()
    raise FetchError(f"more than {opts.max_redirects} redirects")


class _Watchdog:
    """Shuts a fetch's sockets when its deadline passes: socket timeouts bound one wait each, so a
    server trickling bytes could otherwise hold a worker for ever. Sockets are watched through
    duplicated descriptors, so a shutdown never hits a reused one; :attr:`expired` says why."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.expired = False
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        """Seconds until the deadline; FetchError once it has passed."""
        left = self.seconds - (time.monotonic() - self.started)
        if left <= 0 or self.expired:
            raise FetchError(f"took longer than {self.seconds:g} s")
        return left

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            dup = sock.dup()
            self._watched.append(dup)
            if self.expired:
                _shut(dup)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._watched:
                _shut(sock)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._watched:
                sock.close()
            self._watched.clear()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the other end
        sock.shutdown(socket.SHUT_RDWR)


class _WatchedHTTPConnection(HTTPConnection):
    """A urllib3 connection whose socket is handed to the fetch's watchdog as soon as it exists."""

    def __init__(self, *args: Any, watchdog: _Watchdog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watchdog = watchdog

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._watchdog.watch(sock)
        return sock


class _WatchedHTTPSConnection(HTTPSConnection):
    """As :class:`_WatchedHTTPConnection`; watched before the TLS handshake, which can be trickled too."""

    def __init__(self, *args: Any, watchdog: _Watchdog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watchdog = watchdog

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._watchdog.watch(sock)
        return sock


class _WatchedPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedTLSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def _checked_target(
    url: str, opts: FetchOptions, resolve: Resolver, watchdog: _Watchdog
) -> tuple[str, str, int, str, str]:
    """``(scheme, host, port, checked address, path+query)`` for ``url``, or FetchError."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError("malformed URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs can be fetched, not {scheme or 'a relative URL'}")
    if parts.username is not None or parts.password is not None:
        raise FetchError("URLs with a user name or password are refused")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise FetchError("URL has no host")
    try:
        host = host.encode("idna").decode("ascii") if not _is_ip(host) else host
    except UnicodeError as exc:
        raise FetchError(f"invalid host name {host}") from exc
    port = port or (443 if scheme == "https" else 80)
    addresses = _resolve_in_time(resolve, host, port, watchdog)
    if not addresses:
        raise FetchError(f"cannot resolve host {host}")
    for address in addresses:  # every address: a name with one public and one private address is refused
        reason = address_refusal(address, allow_private=opts.allow_private)
        if reason:
            raise FetchError(f"refused {host}: {reason}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port, addresses[0], path


class _LookupSlots:
    """Counts name lookups in flight against :data:`MAX_PENDING_LOOKUPS` (read at each take, so a
    test can lower it); a slot is freed when its lookup returns, not when its fetch gives up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken = 0

    def take(self) -> bool:
        """Take a slot without waiting; False when all are taken."""
        with self._lock:
            if self._taken >= MAX_PENDING_LOOKUPS:
                return False
            self._taken += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self._taken -= 1


_lookup_slots = _LookupSlots()


def _resolve_in_time(resolve: Resolver, host: str, port: int, watchdog: _Watchdog) -> list[str]:
    """``resolve(host, port)`` in a daemon thread, waited for only until the fetch's deadline:
    getaddrinfo has no timeout, so a host with a hanging name server would hold the fetch for ever.
    A lookup given up on keeps its slot until it returns, so abandoned lookups cannot pile up."""
    if not _lookup_slots.take():
        raise FetchError("too many name lookups pending; try again later")
    done = threading.Event()
    outcome: list[list[str] | BaseException] = []

    def lookup() -> None:
        try:
            outcome.append(list(resolve(host, port)))
        except BaseException as exc:  # handed to the fetch, which turns it into its FetchError
            outcome.append(exc)
        finally:
            _lookup_slots.give_back()
            done.set()

    try:
        threading.Thread(target=lookup, name=f"resolve {host}"[:60], daemon=True).start()
    except BaseException:  # no thread, no lookup: the slot is free again
        _lookup_slots.give_back()
        raise
    if not done.wait(watchdog.left()):
        raise FetchError(f"resolving {host} took longer than {watchdog.seconds:g} s")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _request(
    url: str,
    opts: FetchOptions,
    resolve: Resolver,
    watchdog: _Watchdog,
    etag: str | None,
    last_modified: str | None,
) -> tuple[urllib3.HTTPConnectionPool, urllib3.BaseHTTPResponse]:
    """Connect to the very address that was checked, the real name only in ``Host``, SNI and the
    certificate check: nothing resolves the name a second time, so there is no DNS-rebinding window."""
    scheme, host, port, address, path = _checked_target(url, opts, resolve, watchdog)
    left = watchdog.left()
    timeout = urllib3.Timeout(connect=min(opts.connect_timeout, left), read=min(opts.read_timeout, left))
    default_port = 443 if scheme == "https" else 80
    host_header = host if ":" not in host else f"[{host}]"
    if port != default_port:
        host_header += f":{port}"
    headers = {
        "Host": host_header,
        "User-Agent": opts.user_agent,
        "Accept-Encoding": "gzip, deflate",
        "Accept": "application/rss+xml, application/atom+xml, application/xml, text/xml, text/html;q=0.9, */*;q=0.5",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    pool: urllib3.HTTPConnectionPool
    if scheme == "https":
        pool = _WatchedTLSPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=opts.ca_certs,
            server_hostname=host,
            assert_hostname=host,
            watchdog=watchdog,
        )
    else:
        pool = _WatchedPool(address, port, timeout=timeout, retries=False, maxsize=1, watchdog=watchdog)
    try:
        response = _urlopen(pool, path, headers, host)
    except BaseException:
        pool.close()
        raise
    return pool, response


def _urlopen(
    pool: urllib3.HTTPConnectionPool, path: str, headers: dict[str, str], host: str
) -> urllib3.BaseHTTPResponse:
    try:
        return pool.urlopen(
            "GET",
            path,
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
            decode_content=False,
            assert_same_host=False,
        )
    except ConnectTimeoutError as exc:
        raise FetchError(f"connecting to {host} timed out") from exc
    except ReadTimeoutError as exc:
        raise FetchError(f"{host} took too long to answer") from exc
    except SSLError as exc:
        raise FetchError(f"TLS failed for {host} (certificate or protocol)") from exc
    except (NewConnectionError, ProtocolError) as exc:
        raise FetchError(f"could not connect to {host}") from exc
    except HTTPError as exc:
        raise FetchError(f"HTTP error from {host}: {type(exc).__name__}") from exc


class _Decoder:
    """Incremental gzip/deflate/identity decoder whose output never exceeds ``limit`` + 1 bytes, so the
    size cap counts decompressed bytes and a gzip bomb stops at the cap."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []
        enc = encoding.strip().lower()
        if enc in ("", "identity"):
            self.zobj: zlib._Decompress | None = None
        elif enc in ("gzip", "x-gzip"):
            self.zobj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            self.zobj = None  # zlib-wrapped or raw deflate: decided on the first bytes
        else:
            raise FetchError(f"unsupported content encoding {encoding}")
        self.encoding = enc

    def feed(self, data: bytes) -> None:
        if self.encoding == "deflate" and self.zobj is None:
            wrapped = len(data) >= 2 and (data[0] & 0x0F) == 8 and int.from_bytes(data[:2], "big") % 31 == 0
            self.zobj = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        if self.zobj is None:
            self._add(data)
            return
        try:
            chunk = self.zobj.decompress(data, self._room())
            self._add(chunk)
            while self.zobj.unconsumed_tail:  # more output is waiting: keep pulling, still capped
                chunk = self.zobj.decompress(self.zobj.unconsumed_tail, self._room())
                if not chunk:
                    break
                self._add(chunk)
        except zlib.error as exc:
            raise FetchError("the compressed body is corrupt") from exc

    def finish(self) -> bytes:
        if self.zobj is not None:
            try:
                self._add(self.zobj.flush())
            except zlib.error as exc:
                raise FetchError("the compressed body is corrupt") from exc
        return b"".join(self.parts)

    def _room(self) -> int:
        return self.limit + 1 - self.size

    def _add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise FetchError(f"larger than {self.limit:,} bytes")
        self.parts.append(chunk)


def _read_body(response: urllib3.BaseHTTPResponse, opts: FetchOptions, watchdog: _Watchdog) -> bytes:
    declared = response.headers.get("Content-Length")
    encoding = response.headers.get("Content-Encoding", "")
    if declared and declared.isdigit() and not encoding and int(declared) > opts.max_bytes:
        raise FetchError(f"larger than {opts.max_bytes:,} bytes")
    decoder = _Decoder(encoding, opts.max_bytes)
    raw_total = 0
    try:
        while True:
            watchdog.left()
            data = response.read1(_CHUNK, decode_content=False)  # returns what has arrived, never waits for more
            if not data:
                watchdog.left()  # a watchdog shutdown also ends the stream: that is no end of body
                break
            raw_total += len(data)
            if raw_total > opts.max_bytes:  # compressed bytes count too: no endless trickle of nothing
                raise FetchError(f"larger than {opts.max_bytes:,} bytes")
            decoder.feed(data)
    except ReadTimeoutError as exc:
        raise FetchError("the server stopped sending the body") from exc
    except (ProtocolError, HTTPError) as exc:
        raise FetchError("the connection broke while reading the body") from exc
    except (TimeoutError, OSError) as exc:
        raise FetchError("the connection broke while reading the body") from exc
    return decoder.finish()
