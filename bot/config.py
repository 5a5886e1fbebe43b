"""The bot's settings: the engine's :class:`index.settings.Settings` plus what only Discord needs.

Read once by the entry point (environment, then ``.env``, command-line arguments winning). The
token is a ``SecretStr`` so that printing or logging the settings never shows it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from index.settings import Settings, env


class BotSettings(Settings):
    """Everything ``policybot run`` reads from ``DISCORD_TOKEN`` and ``POLICYBOT_*``."""

    discord_token: SecretStr | None = Field(None, validation_alias=env("DISCORD_TOKEN", "discord_token"))
    moderator_role: str | None = Field(None, validation_alias=env("POLICYBOT_MODERATOR_ROLE", "moderator_role"))
    dev_guild: int | None = Field(None, validation_alias=env("POLICYBOT_DEV_GUILD", "dev_guild"))
    cooldown_seconds: float = Field(10.0, ge=0, validation_alias=env("POLICYBOT_COOLDOWN_SECONDS", "cooldown_seconds"))
    max_concurrent: int = Field(4, ge=1, validation_alias=env("POLICYBOT_MAX_CONCURRENT", "max_concurrent"))
    sharded: bool = Field(False, validation_alias=env("POLICYBOT_SHARDED", "sharded"))
    shard_count: int | None = Field(None, ge=1, validation_alias=env("POLICYBOT_SHARD_COUNT", "shard_count"))
    dm_memory_seconds: float = Field(
        600.0, ge=0, validation_alias=env("POLICYBOT_DM_MEMORY_SECONDS", "dm_memory_seconds")
    )
    progress_interval: float = Field(
        1.0, ge=0, validation_alias=env("POLICYBOT_PROGRESS_INTERVAL", "progress_interval")
    )
    sync_commands: bool = Field(True, validation_alias=env("POLICYBOT_SYNC_COMMANDS", "sync_commands"))
    watch_threshold: float | None = Field(
        None, ge=-1, le=1, validation_alias=env("POLICYBOT_WATCH_THRESHOLD", "watch_threshold")
    )  # None: the calibrated bot.watches.THRESHOLD
    watches_per_user: int = Field(20, ge=1, validation_alias=env("POLICYBOT_WATCHES_PER_USER", "watches_per_user"))

    @property
    def use_sharding(self) -> bool:
        """Sharded when asked for, or when a shard count is configured."""
        return self.sharded or self.shard_count is not None

    def token(self) -> str | None:
        return self.discord_token.get_secret_value() if self.discord_token else None

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
    def watches_db(self) -> Path:
        return self.data_dir / "watches.sqlite"
