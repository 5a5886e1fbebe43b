"""Name lookups in the guarded fetcher: bounded in time by the fetch's deadline, and in number across
the process (a lookup given up on keeps its thread until the resolver returns)."""

from __future__ import annotations

import concurrent.futures
import threading

import pytest

from index.feeds import _fetch
from index.feeds._fetch import FetchError, FetchOptions, fetch
from tests.support.local_server import LocalServer


def test_a_hanging_name_lookup_is_cut_at_the_deadline(server: LocalServer, opts: FetchOptions) -> None:
    """getaddrinfo has no timeout of its own: a feed host whose name server never answers costs one
    deadline and a short error, and a fetch of another feed meanwhile is not held up by it."""
    server.text("/page", "<html>ok</html>")
    port = int(server.base.rsplit(":", 1)[1])
    release, returned = threading.Event(), threading.Event()

    def hanging(host: str, p: int) -> list[str]:
        release.wait()
        returned.set()
        return ["127.0.0.1"]

    short = FetchOptions(allow_private=True, connect_timeout=2, read_timeout=2, deadline=0.3)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        try:
            slow = pool.submit(fetch, f"http://slow-dns.example:{port}/page", options=short, resolver=hanging)
            error = slow.exception(timeout=5)  # a bound on a hang (the unfixed fetch waits for ever), not a speed check
            assert isinstance(error, FetchError) and "took longer than 0.3 s" in str(error)
            assert not returned.is_set()  # the fetch gave up on the lookup; it did not wait for it
            assert fetch(server.url("/page"), kind="page", options=opts).body == b"<html>ok</html>"
            assert server.hits("/page") == 1  # the slow host was never connected to
        finally:
            release.set()
    assert returned.wait(5)  # the abandoned lookup ends once its resolver does: no thread is left stuck


def test_abandoned_name_lookups_are_capped(
    server: LocalServer, opts: FetchOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lookups given up on keep their threads until the resolver returns: past the cap a fetch fails
    at once without resolving or connecting, and the slots come back only when those lookups end."""
    monkeypatch.setattr(_fetch, "MAX_PENDING_LOOKUPS", 2)
    server.text("/page", "<html>ok</html>")
    port = int(server.base.rsplit(":", 1)[1])
    release = threading.Event()

    def hanging(host: str, p: int) -> list[str]:
        release.wait()
        return ["127.0.0.1"]

    looked_up: list[str] = []

    def answering(host: str, p: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    short = FetchOptions(allow_private=True, connect_timeout=2, read_timeout=2, deadline=0.2)
    try:
        for n in range(2):
            with pytest.raises(FetchError, match=r"took longer than 0\.2 s"):
                fetch(f"http://silent-dns-{n}.example:{port}/page", options=short, resolver=hanging)
        with pytest.raises(FetchError, match="too many name lookups pending; try again later"):
            fetch(f"http://news.example:{port}/page", kind="page", options=opts, resolver=answering)
        assert looked_up == [] and server.hits("/page") == 0  # refused before resolving or connecting
    finally:
        release.set()
    for thread in threading.enumerate():  # the abandoned lookups end once their resolver returns
        if thread.name.startswith("resolve silent-dns-"):
            thread.join(5)
            assert not thread.is_alive()
    result = fetch(f"http://news.example:{port}/page", kind="page", options=opts, resolver=answering)
    assert result.body == b"<html>ok</html>" and looked_up == ["news.example"]
