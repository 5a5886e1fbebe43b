"""The bot: the shared core (engine, settings, guards, stores, metrics) and the features set up on it.

Features see the bot only as :class:`bot.core.protocol.BotCore`, so the app imports them and never
the other way; a new feature is a package under ``bot/features/`` and one entry in :data:`FEATURES`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import BotSettings
from bot.core.audit import AuditLog
from bot.core.errors import NO_PINGS, OnCooldown, send_interaction_error
from bot.core.guild_settings import GuildSettings
from bot.core.hooks import Hooks
from bot.core.invite import invite_url
from bot.core.metrics import Metrics
from bot.core.protocol import Feature
from bot.core.ratelimit import ConversationMemory, Cooldown, SendGuard, retry_timestamp
from bot.core.reindex import Reindexer
from bot.features import answers, digest, feeds, settings, watch
from bot.features import index as index_admin
from bot.ops.leader import leader_lock
from index import Engine, IndexMissingError

log = logging.getLogger(__name__)

T = TypeVar("T")

FEATURES: tuple[Feature, ...] = (answers, index_admin, feeds, watch, settings, digest)
"""Set up in this order: it is the order of the command list, and of the new-article hooks
(a poll's articles are announced before the watch DMs go out)."""


class PolicyTree(app_commands.CommandTree[Any]):
    """Routes every slash-command failure through one handler."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await send_interaction_error(interaction, error)


class PolicyBotMixin(commands.Bot):
    """Everything except the choice between one connection and automatic sharding."""

    def __init__(self, engine: Engine, settings: BotSettings, **options: Any) -> None:
        self.identify_delay: float = float(options.pop("identify_delay", 5.0))
        intents = discord.Intents.default()
        intents.message_content = settings.message_content
        options.setdefault("intents", intents)
        options.setdefault("allowed_mentions", NO_PINGS)
        options.setdefault("tree_cls", PolicyTree)
        super().__init__(command_prefix=commands.when_mentioned, help_command=None, **options)
        self.engine = engine
        self.settings = settings
        self.cooldown = Cooldown(settings.cooldown_seconds)
        self.memory = ConversationMemory(settings.dm_memory_seconds)
        self.send_guard = SendGuard(settings.forbidden_retry_seconds)
        self.work = asyncio.Semaphore(settings.max_concurrent)
        self.reindexer = Reindexer(engine, interval=settings.progress_interval)
        self.audit = AuditLog(settings.audit_log, database_url=settings.database)
        self.guild_settings = GuildSettings(settings.guild_settings_db, database_url=settings.database)
        self.hooks = Hooks()
        self.leader = leader_lock(settings)
        self.metrics = Metrics(lambda: self.engine.stats())  # late-bound: tests swap the engine
        self._warm_task: asyncio.Task[None] | None = None
        self._lead_task: asyncio.Task[None] | None = None
        self._leading = False

    # ---- lifecycle ------------------------------------------------------------------------
    async def setup_hook(self) -> None:
        self.announce_invite()
        for feature in FEATURES:
            await feature.setup(self)
        await self.sync_commands()
        self._warm_task = asyncio.create_task(self._warm(), name="engine-warm")
        if self.settings.role == "replica":
            log.info("replica: serving questions only; another process ingests and builds")
            return
        if await asyncio.to_thread(self.leader.try_acquire):
            self._start_leading()
        else:
            log.info("another process leads (ingests and builds); retrying every %.0f s", self.settings.leader_retry_seconds)
        self._lead_task = asyncio.create_task(self._keep_leading(), name="leader")

    def announce_invite(self) -> None:
        """Log and print the invite URL: the application id is known once logged in, before commands sync."""
        if self.application_id is None:
            return
        url = invite_url(self.application_id)
        log.info("invite the bot to a server: %s", url)
        print(f"Invite policybot to a server: {url}", flush=True)

    async def _keep_leading(self) -> None:
        """Every retry interval: a standby tries the lock, so it takes over when the leader dies; the
        leader checks it still holds it (a database session can be lost) and stops leading if not."""
        while True:
            await asyncio.sleep(self.settings.leader_retry_seconds)
            if self._leading and not await asyncio.to_thread(lambda: self.leader.held):
                log.warning("lost the leader lock: no longer ingesting or building")
                self._leading = False
                self.metrics.leader.set(0)
                await self.hooks.stop_leading()
            if not self._leading and await asyncio.to_thread(self.leader.try_acquire):
                self._start_leading()

    def _start_leading(self) -> None:
        """Only the leader runs the leader tasks (the feed poll, and so builds): one per data folder."""
        self._leading = True
        self.metrics.leader.set(1)
        self.hooks.start_leading()

    @property
    def connected(self) -> bool:
        """The gateway is up: ready, not closed, and (sharded) every shard of this process open."""
        if not self.is_ready() or self.is_closed():
            return False
        shards = getattr(self, "shards", None)
        return all(not s.is_closed() for s in shards.values()) if shards else True

    async def _warm(self) -> None:
        """Load the model and index before the first question, without delaying the login."""
        try:
            await asyncio.to_thread(self.engine.warm)
        except IndexMissingError as exc:
            log.warning("%s", exc)
        except Exception:
            log.exception("could not warm up the engine")

    async def sync_commands(self) -> None:
        """Sync to the dev guild at once, or globally only when the command set changed."""
        if self.settings.dev_guild:
            guild = discord.Object(id=self.settings.dev_guild)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %s", len(synced), self.settings.dev_guild)
            return
        if not self.settings.sync_commands:
            return
        payload = json.dumps([c.to_dict(self.tree) for c in self.tree.get_commands()], sort_keys=True, default=str)
        digest = hashlib.sha256(payload.encode()).hexdigest()
        stamp = self.settings.data_dir / "commands.sha256"
        if stamp.exists() and stamp.read_text().strip() == digest:
            log.info("commands unchanged since the last sync; not syncing")
            return
        synced = await self.tree.sync()
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest + "\n")
        log.info("synced %d global commands", len(synced))

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Discord's identify rate limit, with the wait configurable (tests use 0)."""
        if not initial and self.identify_delay > 0:
            await asyncio.sleep(self.identify_delay)

    async def on_ready(self) -> None:
        log.info("logged in as %s (%s) in %d guilds", self.user, getattr(self.user, "id", "?"), len(self.guilds))

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: DMs and mentions are answered by the answers feature's listener."""

    async def close(self) -> None:
        for task in (self._warm_task, self._lead_task):
            if task is not None and not task.done():
                task.cancel()
        await self.hooks.stop_leading()
        self.leader.release()
        await super().close()
        self.hooks.exit()
        self.guild_settings.close()
        self.audit.close()

    # ---- shared services for the cogs ----------------------------------------------------
    def check_cooldown(self, user_id: int) -> None:
        """Raise OnCooldown with a Discord relative timestamp when the user asks too often."""
        wait = self.cooldown.hit(user_id)
        if wait is not None:
            raise OnCooldown(f"You are asking too quickly. Try again {retry_timestamp(wait)}.")

    async def in_worker(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run blocking engine work in a thread, at most ``max_concurrent`` at a time."""
        async with self.work:
            return await asyncio.to_thread(fn, *args, **kwargs)


class PolicyBot(PolicyBotMixin):
    """One gateway connection: enough below about 2,500 guilds."""


class ShardedPolicyBot(PolicyBotMixin, commands.AutoShardedBot):
    """Asks Discord (``GET /gateway/bot``) how many shards to run, unless ``shard_count`` is set."""


def create_bot(engine: Engine, settings: BotSettings, **client_options: Any) -> PolicyBotMixin:
    """The bot for these settings; ``client_options`` go to discord.py (connector=, intents=, …)."""
    if settings.use_sharding:
        if settings.shard_count is not None:
            client_options.setdefault("shard_count", settings.shard_count)
        if settings.shard_ids is not None:  # this process's part of the shards (several processes)
            client_options.setdefault("shard_ids", list(settings.shard_ids))
        return ShardedPolicyBot(engine, settings, **client_options)
    return PolicyBot(engine, settings, **client_options)
