"""The bot as a feature sees it, so features import the core and never the app that builds them.

:class:`BotCore` names everything a feature may use: the shared core (engine, settings, guards,
stores, metrics), the hooks of the bot's life and the few Discord calls features make.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import BotSettings
from bot.core.audit import AuditLog
from bot.core.guild_settings import GuildSettings
from bot.core.hooks import Hooks
from bot.core.metrics import Metrics
from bot.core.ratelimit import ConversationMemory, SendGuard
from bot.core.reindex import Reindexer
from index import Engine

T = TypeVar("T")


class BotCore(Protocol):
    # ---- the shared core, built by bot.app ----------------------------------------------------
    @property
    def engine(self) -> Engine: ...
    @property
    def settings(self) -> BotSettings: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def guild_settings(self) -> GuildSettings: ...
    @property
    def reindexer(self) -> Reindexer: ...
    @property
    def memory(self) -> ConversationMemory: ...
    @property
    def send_guard(self) -> SendGuard: ...
    @property
    def hooks(self) -> Hooks: ...

    def check_cooldown(self, user_id: int) -> None: ...

    async def in_worker(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...

    # ---- Discord ------------------------------------------------------------------------------
    @property
    def user(self) -> discord.ClientUser | None: ...
    @property
    def guilds(self) -> Sequence[discord.Guild]: ...
    @property
    def application(self) -> discord.AppInfo | None: ...

    def get_guild(self, id: int, /) -> discord.Guild | None: ...

    def get_channel(
        self, id: int, /
    ) -> discord.abc.GuildChannel | discord.Thread | discord.abc.PrivateChannel | None: ...

    async def fetch_channel(
        self, channel_id: int, /
    ) -> discord.abc.GuildChannel | discord.abc.PrivateChannel | discord.Thread: ...

    async def create_dm(self, user: discord.abc.Snowflake) -> discord.DMChannel: ...

    @property
    def tree(self) -> app_commands.CommandTree[Any]: ...

    async def add_cog(self, cog: commands.Cog, /) -> None: ...

    def add_dynamic_items(self, *items: type[discord.ui.DynamicItem[Any]]) -> None: ...


class Feature(Protocol):
    """A package under ``bot/features/``: its ``setup()`` registers its commands, views, tasks and stores."""

    async def setup(self, bot: BotCore) -> None: ...


class Slot(Generic[T]):
    """A feature's own object kept on the bot as ``bot.<name>``: set by its ``setup()``, read back,
    typed and checked, where only the client is at hand (a button's callback, a test)."""

    def __init__(self, name: str, kind: type[T]) -> None:
        self.name = name
        self.kind = kind

    def put(self, bot: BotCore, value: T) -> T:
        setattr(bot, self.name, value)
        return value

    def of(self, client: object) -> T:
        value = getattr(client, self.name, None)
        if not isinstance(value, self.kind):
            raise LookupError(f"the bot has no {self.name}: its feature is not set up")
        return value
