"""A fake Discord on 127.0.0.1 for the real discord.py client: shared by the end-to-end tests and
the load benchmark (which must not import the tests).

``server`` (the whole fake) = ``scenario`` (what users do) on ``rest`` (the HTTP API) on
``gateway`` (the websocket) on ``world`` (users, guilds, channels, the clock); ``records`` holds
the constants, Discord's limits and what the fake records.
"""

from measure.fakediscord.records import (
    APP_ID,
    EPHEMERAL,
    LOADING,
    PERM_ADMIN,
    PERM_BASIC,
    PERM_MANAGE_GUILD,
    PERM_THREADS,
    TOKEN,
    Attachment,
    Interaction,
    RateLimit,
    Request,
    message_problems,
    pings,
)
from measure.fakediscord.server import FakeDiscord

__all__ = [
    "APP_ID",
    "EPHEMERAL",
    "LOADING",
    "PERM_ADMIN",
    "PERM_BASIC",
    "PERM_MANAGE_GUILD",
    "PERM_THREADS",
    "TOKEN",
    "Attachment",
    "FakeDiscord",
    "Interaction",
    "RateLimit",
    "Request",
    "message_problems",
    "pings",
]
