"""Session set-up: offline model loading, and one real embedding model per test session.

Shared helpers (article writers, fakes, local servers) live in ``tests/support/``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.support.postgres"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The short-answer reader is off unless a test asks for it (Settings(reader_model=None) or a fake reader).
os.environ.setdefault("POLICYBOT_READER_MODEL", "off")


@pytest.fixture(scope="session")
def embedder() -> Iterator[object]:
    """The real bundled all-MiniLM-L6-v2, loaded once (about 5 s)."""
    if os.environ.get("NO_TORCH"):  # a venv without torch (scripts/test.sh --python X): its tests skip
        pytest.importorskip("torch", reason="this venv has no torch (NO_TORCH=1)")
    from index.models._embedder import Embedder

    yield Embedder()
