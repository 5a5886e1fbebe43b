"""The bot's settings: the engine's :class:`index.settings.Settings` plus what only Discord needs.

Read once by the entry point (environment, then ``.env``, command-line arguments winning). The
token is a ``SecretStr`` so that printing or logging the settings never shows it.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import NoDecode

from index import Settings, database_url, env


class BotSettings(Settings):
    """Everything ``policybot run`` reads from ``DISCORD_TOKEN`` and ``POLICYBOT_*``."""

    discord_token: SecretStr | None = Field(None, validation_alias=env("DISCORD_TOKEN", "discord_token"))
    moderator_role: str | None = Field(None, validation_alias=env("POLICYBOT_MODERATOR_ROLE", "moderator_role"))
    home_guilds: Annotated[list[int] | None, NoDecode] = Field(
        None, validation_alias=env("POLICYBOT_HOME_GUILDS", "home_guilds")
    )  # "123,456": the servers whose moderators may change the shared articles, feeds and index
    dev_guild: int | None = Field(None, validation_alias=env("POLICYBOT_DEV_GUILD", "dev_guild"))
    cooldown_seconds: float = Field(10.0, ge=0, validation_alias=env("POLICYBOT_COOLDOWN_SECONDS", "cooldown_seconds"))
    max_concurrent: int = Field(4, ge=1, validation_alias=env("POLICYBOT_MAX_CONCURRENT", "max_concurrent"))
    sharded: bool = Field(False, validation_alias=env("POLICYBOT_SHARDED", "sharded"))
    shard_count: int | None = Field(None, ge=1, validation_alias=env("POLICYBOT_SHARD_COUNT", "shard_count"))
    shard_ids: Annotated[list[int] | None, NoDecode] = Field(
        None, validation_alias=env("POLICYBOT_SHARD_IDS", "shard_ids")
    )  # "0,1": this process's shards out of shard_count (several processes share the guilds)
    role: Literal["auto", "builder", "replica"] = Field("auto", validation_alias=env("POLICYBOT_ROLE", "role"))
    leader_retry_seconds: float = Field(
        30.0, gt=0, validation_alias=env("POLICYBOT_LEADER_RETRY_SECONDS", "leader_retry_seconds")
    )  # how often a non-leader tries the leader lock (fail-over delay)
    heartbeat_seconds: float = Field(10.0, gt=0, validation_alias=env("POLICYBOT_HEARTBEAT_SECONDS", "heartbeat_seconds"))
    health_max_age: float = Field(
        60.0, gt=0, validation_alias=env("POLICYBOT_HEALTH_MAX_AGE", "health_max_age")
    )  # a status file older than this means the process is hung or gone
    instance: str = Field(
        default_factory=socket.gethostname, validation_alias=env("POLICYBOT_INSTANCE", "instance")
    )  # names this process's status file; the host name is unique per container
    metrics_port: int | None = Field(
        None, ge=0, le=65535, validation_alias=env("POLICYBOT_METRICS_PORT", "metrics_port")
    )  # off unless set
    metrics_host: str = Field("127.0.0.1", validation_alias=env("POLICYBOT_METRICS_HOST", "metrics_host"))
    forbidden_retry_seconds: float = Field(
        300.0, ge=0, validation_alias=env("POLICYBOT_FORBIDDEN_RETRY_SECONDS", "forbidden_retry_seconds")
    )  # after Discord refuses a reply in a channel (403), how long the bot stays silent there
    dm_memory_seconds: float = Field(
        600.0, ge=0, validation_alias=env("POLICYBOT_DM_MEMORY_SECONDS", "dm_memory_seconds")
    )
    message_content: bool = Field(
        False, validation_alias=env("POLICYBOT_MESSAGE_CONTENT", "message_content")
    )  # Discord's privileged intent: follow-ups in the bot's threads without a mention
    progress_interval: float = Field(
        1.0, ge=0, validation_alias=env("POLICYBOT_PROGRESS_INTERVAL", "progress_interval")
    )
    sync_commands: bool = Field(True, validation_alias=env("POLICYBOT_SYNC_COMMANDS", "sync_commands"))
    watch_threshold: float | None = Field(
        None, ge=-1, le=1, validation_alias=env("POLICYBOT_WATCH_THRESHOLD", "watch_threshold")
    )  # None: the calibrated bot.core.matching.THRESHOLD (watches and announcement topics)
    watches_per_user: int = Field(20, ge=1, validation_alias=env("POLICYBOT_WATCHES_PER_USER", "watches_per_user"))

    @field_validator("shard_ids", "home_guilds", mode="before")
    @classmethod
    def _split_ids(cls, value: Any, info: ValidationInfo) -> Any:
        """``POLICYBOT_SHARD_IDS=0,1`` or ``POLICYBOT_HOME_GUILDS=123,456`` (a JSON list is accepted
        too); empty means unset (all shards; no home guild configured)."""
        if isinstance(value, str):
            parts = [part.strip() for part in value.strip().strip("[]").split(",") if part.strip()]
            if not all(part.isascii() and part.isdigit() for part in parts):
                name = f"POLICYBOT_{(info.field_name or '').upper()}"
                raise ValueError(f"{name} must be numbers separated by commas, e.g. 123,456 (got {value!r})")
            return [int(part) for part in parts] or None
        return value

    @model_validator(mode="after")
    def _check_shards(self) -> Self:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("POLICYBOT_SHARD_IDS needs POLICYBOT_SHARD_COUNT (the total over all processes)")
            bad = [i for i in self.shard_ids if not 0 <= i < self.shard_count]
            if bad or len(set(self.shard_ids)) != len(self.shard_ids):
                raise ValueError(f"POLICYBOT_SHARD_IDS {self.shard_ids} must be distinct ids below {self.shard_count}")
        return self

    @property
    def use_sharding(self) -> bool:
        """Sharded when asked for, or when a shard count or shard ids are configured."""
        return self.sharded or self.shard_count is not None or self.shard_ids is not None

    def token(self) -> str | None:
        """The token, or None when unset or blank (compose passes ``DISCORD_TOKEN=`` when it is missing)."""
        token = self.discord_token.get_secret_value().strip() if self.discord_token else ""
        return token or None

    @property
    def database(self) -> str | None:
        """The PostgreSQL URL holding coordination and small state (None: files in the data folder)."""
        return database_url(self)

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite"

    @property
    def audit_log(self) -> Path:
        return self.data_dir / "audit.jsonl"

    @property
    def guild_settings_db(self) -> Path:
        return self.data_dir / "guild_settings.sqlite"

    @property
    def announce_db(self) -> Path:
        return self.data_dir / "announce.sqlite"

    @property
    def watches_db(self) -> Path:
        return self.data_dir / "watches.sqlite"

    @property
    def leader_lock(self) -> Path:
        return self.data_dir / "leader.lock"

    @property
    def status_dir(self) -> Path:
        return self.data_dir / "status"
