"""The link that adds the bot to a server, printed at start-up so nobody has to assemble it by hand.

It asks for the two scopes the bot needs and only the channel permissions its replies use.
"""

from __future__ import annotations

import discord

SCOPES = ("bot", "applications.commands")
"""``bot`` puts the bot user in the server; ``applications.commands`` lets its slash commands show there."""

PERMISSIONS = discord.Permissions(
    view_channel=True,  # see the channels it is mentioned in and announces feed articles to
    send_messages=True,  # answers to mentions, feed announcements, /index progress lines
    send_messages_in_threads=True,  # the same inside threads
    embed_links=True,  # answers and announcements are embeds
    read_message_history=True,  # an answer to a mention is a reply to that message
)
"""Slash-command answers go through the interaction and need none of these; DMs need none either."""


def invite_url(application_id: int) -> str:
    """The OAuth2 URL a server manager opens to add this application's bot."""
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=SCOPES)
