from __future__ import annotations

import pytest

from index.feeds._urls import canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTPS://Example.COM:443/News/Story/?utm_source=rss&utm_medium=feed#comments",
            "https://example.com/News/Story",
        ),
        ("http://example.com:80/", "http://example.com/"),
        ("http://example.com", "http://example.com/"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        (
            "https://example.com/a?b=2&a=1&fbclid=x&gclid=y&mc_cid=1&mc_eid=2&ref=rss&cmpid=z",
            "https://example.com/a?a=1&b=2",
        ),
        ("https://example.com//a//b/", "https://example.com/a/b"),
        ("https://user:pw@example.com/a", "https://example.com/a"),
        ("  https://example.com/a?id=7  ", "https://example.com/a?id=7"),
        ("not a url", "not a url"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_same_story_different_tracking_is_one_url() -> None:
    a = canonical_url("https://news.example/2024/cisa-order?utm_campaign=x")
    b = canonical_url("https://NEWS.example/2024/cisa-order/#top")
    assert a == b
