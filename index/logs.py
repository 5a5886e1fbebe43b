"""The process's one logging set-up, owned by the entry point: one handler, secrets redacted.

Library modules only ever call ``logging.getLogger(__name__)``; a second set-up (the cause of
every line printed twice) is impossible because :func:`setup_logging` replaces its own handler.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
NOISY = ("sentence_transformers", "transformers", "huggingface_hub", "httpx", "discord.gateway")


class RedactingFormatter(logging.Formatter):
    """Replaces secrets anywhere in the formatted record, tracebacks included."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text


class _Handler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Marks the handler this module installed, so a second call replaces it instead of adding one."""


def setup_logging(level: str, secrets: Iterable[str] = (), stream: TextIO | None = None) -> logging.Handler:
    """Log to stderr at ``level`` with every secret redacted; safe to call again (it replaces)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler(stream or sys.stderr)
    formatter = RedactingFormatter(FORMAT, list(secrets))
    root.addHandler(handler)
    for h in root.handlers:  # handlers someone else added (pytest's) must not leak secrets either
        h.setFormatter(formatter)
    root.setLevel(level.upper())
    for name in NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
