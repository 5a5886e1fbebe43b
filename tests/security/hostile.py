"""The hostile inputs the property tests draw from (Discord markup, pings, links that forge or
autolink, bidi controls and invisible characters) with their fixed, derandomized hypothesis budget,
and the check of what the bot sends as Discord would read it."""

from __future__ import annotations

import re
from typing import Any

import discord
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bot.core.errors import NO_PINGS
from measure.fakediscord import message_problems, pings
from tests.support.discord_text import assert_inert, visible_texts

BUDGET = settings(
    max_examples=50, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

INJECTIONS = [
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&987654321098765432>",
    "[click here](https://evil.example/steal)",
    "[https://good.example](https://evil.example)",
    "<https://evil.example>",
    "**bold** __underline__ ~~strike~~ ||spoiler|| `code` > quote",
    "```\ncode block\n```",
    "# Heading",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "\u202eevil\u202c",
    "\u200b@\u200beveryone",
    # bare URLs: Discord autolinks ``scheme://`` in content and embeds, and ``<scheme:/…>``
    "https://evil.example/login",
    "HTTP://EVIL.EXAMPLE/a_b(c)",
    "see http://evil.example.",
    "steam://run/1",
    "<https:/evil.example>",
    "h\u200bttps://evil.example",  # invisible characters that vanish on the way must not join a URL back up
    "https:/\u200b/evil.example",
    "https:\u2060//evil.example",
    # bidi controls and other invisible characters
    "\u202a\u202b\u202d\u202e\u202c",
    "\u2066\u2067\u2068\u2069",
    "\u200e\u200f\u061c",
    "moc.elpmaxe\u202e//:sptth",
    "\ufeff\u00ad\u2063\U000e0041\u3164",
]
hostile_text = st.lists(
    st.one_of(st.sampled_from(INJECTIONS), st.text(min_size=1, max_size=40)), min_size=1, max_size=12
).map(" ".join)


# ---- what the bot sends: the payload discord.py builds, checked as Discord would read it -------
def payloads(embeds: list[discord.Embed]) -> dict[str, Any]:
    return {"embeds": [e.to_dict() for e in embeds], "allowed_mentions": NO_PINGS.to_dict()}


LINK = re.compile(r"(?<!\\)\[((?:[^\[\]\\]|\\.)*)(?<!\\)\]\(([^)\s]*)\)")
BARE_MENTION = re.compile(r"(?<!\\)@(everyone|here)|<@[!&]?\d+>")


def links(payload: dict[str, Any]) -> set[str]:
    """Every Markdown link target in the embeds' descriptions and field values (where links render)."""
    texts = [e.get("description") or "" for e in payload["embeds"]]
    texts += [f.get("value") or "" for e in payload["embeds"] for f in e.get("fields") or []]
    return {m.group(2) for t in texts for m in LINK.finditer(t)}


def assert_safe(payload: dict[str, Any], allowed_links: set[str]) -> None:
    assert not message_problems(payload), message_problems(payload)
    assert pings(payload) == set()  # nobody is notified, whatever the text says
    assert links(payload) <= allowed_links, links(payload) - allowed_links  # only the articles' own URLs link
    assert_inert(visible_texts(payload), allowed_links)  # no bare URL links, nothing hides or reorders text
