"""The invite URL: both scopes, and exactly the channel permissions the bot's replies use."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import discord

from bot.core.invite import invite_url


def test_invite_url_asks_for_both_scopes_and_only_the_permissions_the_bot_uses() -> None:
    url = urlsplit(invite_url(1234567890))
    query = parse_qs(url.query)
    assert (url.scheme, url.netloc, url.path) == ("https", "discord.com", "/oauth2/authorize")
    assert query["client_id"] == ["1234567890"]
    assert query["scope"][0].split() == ["bot", "applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted == discord.Permissions(
        view_channel=True, send_messages=True, send_messages_in_threads=True, embed_links=True, read_message_history=True
    )
    assert not (granted.administrator or granted.manage_guild or granted.mention_everyone or granted.manage_messages)
