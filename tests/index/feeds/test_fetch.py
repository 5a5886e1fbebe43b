"""Safe fetching against a real local HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import shutil
import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator

import pytest
from aiohttp import web

from index.errors import PolicybotError
from index.feeds._fetch import FetchError, FetchOptions, address_refusal, fetch
from tests.support.local_server import LocalServer, run_server


def test_plain_get_and_result(server: LocalServer, opts: FetchOptions) -> None:
    server.text(
        "/page", "<html><body>hello</body></html>", ETag='"v1"', **{"Last-Modified": "Wed, 01 May 2024 10:00:00 GMT"}
    )
    result = fetch(server.url("/page"), kind="page", options=opts)
    assert result.status == 200 and not result.not_modified
    assert result.body == b"<html><body>hello</body></html>"
    assert result.etag == '"v1"' and result.last_modified == "Wed, 01 May 2024 10:00:00 GMT"
    assert result.content_type.startswith("text/html")
    with pytest.raises(AttributeError):
        result.status = 1  # type: ignore[misc]  # frozen


def test_conditional_get_304(server: LocalServer, opts: FetchOptions) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"abc"' or request.headers.get("If-Modified-Since"):
            return web.Response(status=304, headers={"ETag": '"abc"'})
        return web.Response(text="<rss/>", content_type="application/rss+xml", headers={"ETag": '"abc"'})

    server.routes["/feed"] = handler
    first = fetch(server.url("/feed"), kind="feed", options=opts)
    second = fetch(
        server.url("/feed"), kind="feed", options=opts, etag=first.etag, last_modified="Wed, 01 May 2024 10:00:00 GMT"
    )
    assert second.not_modified and second.status == 304 and second.body == b""
    assert second.etag == '"abc"' and second.last_modified == "Wed, 01 May 2024 10:00:00 GMT"
    _, headers = server.requests[-1]
    assert headers["If-None-Match"] == '"abc"' and headers["If-Modified-Since"]


def test_content_type_checked_per_use(server: LocalServer, opts: FetchOptions) -> None:
    server.text("/img", b"\x89PNG....", content_type="image/png")
    server.text("/html", "<html></html>", content_type="text/html")
    with pytest.raises(FetchError, match="content type image/png"):
        fetch(server.url("/img"), kind="page", options=opts)
    with pytest.raises(FetchError, match="content type"):
        fetch(server.url("/img"), kind="feed", options=opts)
    assert fetch(server.url("/html"), kind="page", options=opts).status == 200


def test_oversized_page_refused(server: LocalServer, opts: FetchOptions) -> None:
    server.text("/big", "x" * 300_000)

    async def chunked(request: web.Request) -> web.StreamResponse:  # no Content-Length: counted while reading
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(40):
            await resp.write(b"y" * 10_000)
        await resp.write_eof()
        return resp

    server.routes["/chunked"] = chunked
    for path in ("/big", "/chunked"):
        with pytest.raises(FetchError, match="larger than 200,000 bytes"):
            fetch(server.url(path), kind="page", options=opts)


def test_gzip_bomb_stops_at_cap(server: LocalServer, opts: FetchOptions) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)  # ~50 KB on the wire, 50 MB inflated
    assert len(bomb) < opts.max_bytes
    server.text("/bomb", bomb, **{"Content-Encoding": "gzip"})
    started = time.monotonic()
    with pytest.raises(FetchError, match="larger than"):
        fetch(server.url("/bomb"), kind="page", options=opts)
    assert time.monotonic() - started < 2


def test_gzip_and_deflate_are_decoded(server: LocalServer, opts: FetchOptions) -> None:
    body = b"<html><body>" + b"policy " * 1000 + b"</body></html>"
    server.text("/gz", gzip.compress(body), **{"Content-Encoding": "gzip"})
    server.text("/zl", zlib.compress(body), **{"Content-Encoding": "deflate"})
    raw = zlib.compressobj(wbits=-15)
    server.text("/raw", raw.compress(body) + raw.flush(), **{"Content-Encoding": "deflate"})
    for path in ("/gz", "/zl", "/raw"):
        assert fetch(server.url(path), kind="page", options=opts).body == body
    assert "gzip" in server.requests[0][1]["Accept-Encoding"]


def _redirect(target: str, status: int = 302) -> web.Response:
    return web.Response(status=status, headers={"Location": target})


def test_redirects_followed_then_loop_and_limit_refused(server: LocalServer, opts: FetchOptions) -> None:
    server.text("/final", "<html>done</html>")

    async def hop(request: web.Request) -> web.StreamResponse:
        n = int(request.query.get("n", "0"))
        return _redirect(f"/hop?n={n + 1}" if n < 10 else "/final", 301)

    async def a(request: web.Request) -> web.StreamResponse:
        return _redirect("/b")

    async def b(request: web.Request) -> web.StreamResponse:
        return _redirect(server.url("/a"), 307)

    server.routes.update({"/hop": hop, "/a": a, "/b": b})
    ok = fetch(server.url("/hop?n=7"), kind="page", options=opts)  # 3 redirects
    assert ok.final_url.endswith("/final") and ok.url.endswith("/hop?n=7")
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(server.url("/hop?n=0"), kind="page", options=opts)
    with pytest.raises(FetchError, match="redirect loop"):
        fetch(server.url("/a"), kind="page", options=opts)


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://[::ffff:169.254.169.254]/"]
)
def test_redirect_to_link_local_refused_even_when_private_allowed(
    server: LocalServer, opts: FetchOptions, target: str
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return _redirect(target)

    server.routes["/meta"] = handler
    with pytest.raises(FetchError, match="link-local"):
        fetch(server.url("/meta"), kind="page", options=opts)
    assert server.hits("/meta") == 1


def test_redirect_to_other_scheme_refused(server: LocalServer, opts: FetchOptions) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return _redirect("file:///etc/passwd")

    server.routes["/f"] = handler
    with pytest.raises(FetchError, match="only http and https"):
        fetch(server.url("/f"), kind="page", options=opts)


def test_slow_feed_times_out(server: LocalServer) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(3)
        return web.Response(text="<rss/>", content_type="application/rss+xml")

    async def drip(request: web.Request) -> web.StreamResponse:  # each read is quick, the whole is not
        resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await resp.prepare(request)
        for _ in range(30):
            await resp.write(b" ")
            await asyncio.sleep(0.1)
        return resp

    server.routes.update({"/slow": slow, "/drip": drip})
    short = FetchOptions(allow_private=True, read_timeout=0.3, deadline=1.0)
    started = time.monotonic()
    with pytest.raises(FetchError, match="took too long"):
        fetch(server.url("/slow"), kind="feed", options=short)
    with pytest.raises(FetchError, match="took longer than 1 s"):
        fetch(server.url("/drip"), kind="feed", options=short)
    assert time.monotonic() - started < 3


def test_http_error_status(server: LocalServer, opts: FetchOptions) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(server.url("/missing"), kind="page", options=opts)
    assert issubclass(FetchError, PolicybotError)


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Fail loudly if anything opens a TCP connection."""
    attempts: list[object] = []
    real = socket.socket.connect

    def guarded(sock: socket.socket, address: object) -> None:
        attempts.append(address)
        raise AssertionError(f"connection attempted to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield attempts
    monkeypatch.setattr(socket.socket, "connect", real)


def test_private_refused_without_connecting(server: LocalServer, no_connections: list[object]) -> None:
    strict = FetchOptions(allow_private=False)
    port = server.base.rsplit(":", 1)[1]
    for url in (
        server.url("/page"),
        f"http://localhost:{port}/page",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://[::1]/",
    ):
        with pytest.raises(FetchError, match="refused"):
            fetch(url, kind="page", options=strict)
    assert no_connections == [] and server.requests == []


def test_any_private_address_of_a_host_refuses_it(no_connections: list[object]) -> None:
    # A name with one public and one private address (a classic rebinding set-up) is refused.
    def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.5"]

    with pytest.raises(FetchError, match=r"10\.0\.0\.5 is a private address"):
        fetch("http://mixed.example/", options=FetchOptions(), resolver=resolver)
    assert no_connections == []


def test_connects_to_the_checked_address_with_the_real_host_header(server: LocalServer, opts: FetchOptions) -> None:
    server.text("/page", "<html>ok</html>")
    port = int(server.base.rsplit(":", 1)[1])
    calls: list[str] = []

    def resolver(host: str, p: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["169.254.169.254"]  # a second lookup would be refused

    result = fetch(f"http://news.example:{port}/page", kind="page", options=opts, resolver=resolver)
    assert result.body == b"<html>ok</html>"
    assert calls == ["news.example"]  # resolved exactly once: nothing can rebind between check and connect
    assert server.requests[-1][1]["Host"] == f"news.example:{port}"


@pytest.mark.parametrize(
    ("address", "private_ok", "refused"),
    [
        ("8.8.8.8", False, False),
        ("127.0.0.1", False, True),
        ("127.0.0.1", True, False),
        ("10.0.0.1", True, False),
        ("169.254.169.254", True, True),
        ("fe80::1", True, True),
        ("::ffff:10.0.0.1", False, True),
        ("224.0.0.1", True, True),
        ("0.0.0.0", True, True),
        ("240.0.0.1", True, True),
        ("100.64.0.1", False, True),
        ("2001:4860:4860::8888", False, False),
    ],
)
def test_address_policy(address: str, private_ok: bool, refused: bool) -> None:
    assert (address_refusal(address, allow_private=private_ok) is not None) is refused


def test_bad_urls() -> None:
    for url, reason in [
        ("ftp://example.com/x", "only http and https"),
        ("http://user:pw@example.com/", "user name or password"),
        ("http:///nohost", "no host"),
        ("/relative", "only http and https"),
    ]:
        with pytest.raises(FetchError, match=reason):
            fetch(url)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A throw-away CA and a certificate for news.example signed by it (openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    d = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ca_extensions = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    run("req", "-x509", *ec, *ca_extensions, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=policybot test CA")
    run("req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=news.example")
    # The extensions Python 3.13's strict verification (VERIFY_X509_STRICT) requires of a chain.
    (d / "san.ext").write_text(
        "subjectAltName=DNS:news.example\nauthorityKeyIdentifier=keyid\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    run(
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "srv.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    )
    return {"ca": str(d / "ca.pem"), "cert": str(d / "srv.pem"), "key": str(d / "srv.key")}


def test_tls_checks_the_certificate_against_the_real_host_name(tls_files: dict[str, str]) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_files["cert"], tls_files["key"])
    with run_server(context) as tls:
        tls.text("/page", "<html>secure</html>")
        port = int(tls.base.rsplit(":", 1)[1])
        opts = FetchOptions(allow_private=True, ca_certs=tls_files["ca"], deadline=5)

        def resolver(host: str, p: int) -> list[str]:
            return ["127.0.0.1"]

        ok = fetch(f"https://news.example:{port}/page", kind="page", options=opts, resolver=resolver)
        assert ok.body == b"<html>secure</html>"  # connected to 127.0.0.1, verified as news.example (SNI)
        with pytest.raises(FetchError, match=r"TLS failed for evil\.example"):
            fetch(f"https://evil.example:{port}/page", kind="page", options=opts, resolver=resolver)
        with pytest.raises(FetchError, match="TLS failed"):  # not trusted by the system store
            fetch(f"https://news.example:{port}/page", options=FetchOptions(allow_private=True), resolver=resolver)


# ---- issue 19: malformed redirects and charsets, slow headers ------------------------------------
@pytest.mark.parametrize(
    "location",
    ["http://[x/", "http://[::1", "http://host:99999/", "http://exa mple.com/", "/path with spaces", "/caf\u00e9",
     "http://a\u2100b/", "http://" + "a" * 300 + "/"],
)
def test_malformed_redirect_is_a_fetch_error(server: LocalServer, opts: FetchOptions, location: str) -> None:
    """Whatever the Location holds, the caller gets a FetchError (any other type escapes pytest.raises)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": location})

    def local_only(host: str, port: int) -> list[str]:  # no DNS query leaves the machine
        if host != "127.0.0.1":
            raise FetchError(f"cannot resolve host {host}")
        return ["127.0.0.1"]

    server.routes["/r"] = handler
    with pytest.raises(FetchError):
        fetch(server.url("/r"), kind="page", options=opts, resolver=local_only)


def test_redirect_to_a_malformed_ipv6_url_says_so(server: LocalServer, opts: FetchOptions) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=301, headers={"Location": "http://[x/"})

    server.routes["/r"] = handler
    with pytest.raises(FetchError, match="redirect to a malformed URL"):
        fetch(server.url("/r"), kind="page", options=opts)


@pytest.mark.parametrize("charset", ["punycode", "idna", "base64", "rot13", "utf-7", "no-such-charset", "undefined"])
def test_bogus_charset_labels_are_ignored(server: LocalServer, opts: FetchOptions, charset: str) -> None:
    body = "<html><body><p>Caf\u00e9 policy: <b>agencies</b> must patch.</p></body></html>"
    server.text("/p", body.encode("utf-8"), content_type=f"text/html; charset={charset}")
    result = fetch(server.url("/p"), kind="page", options=opts)
    assert result.text() == body  # read as if no charset were declared (UTF-8)


def test_declared_charset_is_used() -> None:
    from index.feeds._fetch import FetchResult

    def result(content_type: str, body: bytes) -> FetchResult:
        return FetchResult("u", "u", 200, content_type, body, None, None, False)

    assert result("text/html; charset=iso-8859-1", "caf\u00e9".encode("latin-1")).text() == "caf\u00e9"
    assert result('text/html; Charset="windows-1251"', "\u043c\u0438\u0440".encode("cp1251")).text() == "\u043c\u0438\u0440"
    assert result("text/html", b"caf\xe9").text() == "caf\u00e9"  # not UTF-8: cp1252


@contextlib.contextmanager
def trickling_server(prefix: bytes, byte_every: float, total: int) -> Iterator[int]:
    """A raw TCP server on 127.0.0.1 that sends ``prefix`` and then one header byte every
    ``byte_every`` seconds, ``total`` of them, before ending the headers (port yielded)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, object] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(prefix)
            for _ in range(total):
                writer.write(b"a")
                await writer.drain()
                await asyncio.sleep(byte_every)
            writer.write(b"\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up: what the test wants
        finally:
            writer.close()

    async def start() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        box["server"] = server
        box["port"] = server.sockets[0].getsockname()[1]
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(10)
    async def stop() -> None:
        server = box["server"]
        assert isinstance(server, asyncio.Server)
        server.close()
        handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    try:
        yield int(box["port"])  # type: ignore[call-overload]
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_trickled_headers_are_cut_at_the_deadline() -> None:
    """One header byte every 0.2 s never trips a 2 s read timeout; the 0.5 s deadline must end it.
    The elapsed bound (5x the deadline) is a bound on a hang, not a speed assertion."""
    deadline = 0.5
    opts = FetchOptions(allow_private=True, connect_timeout=2, read_timeout=2, deadline=deadline)
    with trickling_server(b"HTTP/1.1 200 OK\r\nX-Slow: ", byte_every=0.2, total=50) as port:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"took longer than 0\.5 s"):
            fetch(f"http://127.0.0.1:{port}/", kind="page", options=opts)
        assert time.monotonic() - started < 5 * deadline


def test_trickled_status_line_is_cut_at_the_deadline() -> None:
    opts = FetchOptions(allow_private=True, connect_timeout=2, read_timeout=2, deadline=0.5)
    with trickling_server(b"HTTP/1.1 2", byte_every=0.2, total=50) as port:
        started = time.monotonic()
        with pytest.raises(FetchError, match="took longer than"):
            fetch(f"http://127.0.0.1:{port}/", kind="page", options=opts)
        assert time.monotonic() - started < 2.5
