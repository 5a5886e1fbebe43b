"""What Discord shows of a message, and the check that article text in it is inert (no link but the
citations' own, nothing hidden or reordered). Shared by the renderer property tests and the e2e tests."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

HIDDEN = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad\U000e0000-\U000e007f]")
"""Bidi controls (they reorder text) and invisible characters (they hide it)."""


def visible_texts(payload: dict[str, Any]) -> list[str]:
    """Every text of a message Discord shows (content, and each embed's title, description, fields, footer)."""
    texts = [payload.get("content") or ""]
    for e in payload.get("embeds") or []:
        texts += [e.get("title") or "", e.get("description") or "", (e.get("footer") or {}).get("text") or ""]
        texts += [f"{f.get('name')}\n{f.get('value')}" for f in e.get("fields") or []]
    return texts


def assert_inert(texts: Iterable[str], citation_urls: Iterable[str]) -> None:
    """No ``:/`` outside the citations' ``](url)`` (so no bare ``scheme://`` nor ``<scheme:/…>`` for Discord
    to autolink), and no bidi control or invisible character."""
    targets = [f"]({url})" for url in citation_urls]
    for text in texts:
        for target in targets:
            text = text.replace(target, "]()")
        assert ":/" not in text, text
        assert not HIDDEN.search(text), ascii(text)
