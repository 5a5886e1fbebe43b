"""Bot settings from the environment (or a ``.env`` file), kept apart from the engine's settings.

The token is a ``SecretStr`` so that printing or logging the settings never shows it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str, field: str) -> AliasChoices:
    """Accept the documented environment name and the field name (for tests and keyword use)."""
    return AliasChoices(name, field)


class BotSettings(BaseSettings):
    """Everything the bot reads from ``DISCORD_TOKEN`` and ``POLICYBOT_*``."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)

    discord_token: SecretStr | None = Field(default=None, validation_alias=_env("DISCORD_TOKEN", "discord_token"))
    data_dir: Path = Field(default=Path("data"), validation_alias=_env("POLICYBOT_DATA", "data_dir"))
    corpus_dir: Path = Field(default=Path("corpus"), validation_alias=_env("POLICYBOT_CORPUS", "corpus_dir"))
    moderator_role: str | None = Field(
        default=None, validation_alias=_env("POLICYBOT_MODERATOR_ROLE", "moderator_role")
    )
    dev_guild: int | None = Field(default=None, validation_alias=_env("POLICYBOT_DEV_GUILD", "dev_guild"))
    cooldown_seconds: float = Field(
        default=10.0, ge=0, validation_alias=_env("POLICYBOT_COOLDOWN_SECONDS", "cooldown_seconds")
    )
    max_concurrent: int = Field(default=4, ge=1, validation_alias=_env("POLICYBOT_MAX_CONCURRENT", "max_concurrent"))
    sharded: bool = Field(default=False, validation_alias=_env("POLICYBOT_SHARDED", "sharded"))
    shard_count: int | None = Field(default=None, ge=1, validation_alias=_env("POLICYBOT_SHARD_COUNT", "shard_count"))
    dm_memory_seconds: float = Field(
        default=600.0, ge=0, validation_alias=_env("POLICYBOT_DM_MEMORY_SECONDS", "dm_memory_seconds")
    )
    progress_interval: float = Field(
        default=1.0, ge=0, validation_alias=_env("POLICYBOT_PROGRESS_INTERVAL", "progress_interval")
    )
    fetch_max_bytes: int = Field(
        default=2_000_000, ge=1, validation_alias=_env("POLICYBOT_FETCH_MAX_BYTES", "fetch_max_bytes")
    )
    fetch_timeout: float = Field(default=15.0, gt=0, validation_alias=_env("POLICYBOT_FETCH_TIMEOUT", "fetch_timeout"))
    fetch_allow_private: bool = Field(
        default=False, validation_alias=_env("POLICYBOT_FETCH_ALLOW_PRIVATE", "fetch_allow_private")
    )
    sync_commands: bool = Field(default=True, validation_alias=_env("POLICYBOT_SYNC_COMMANDS", "sync_commands"))
    log_level: str = Field(default="INFO", validation_alias=_env("POLICYBOT_LOG_LEVEL", "log_level"))

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
    def trash_dir(self) -> Path:
        return self.data_dir / "trash"
