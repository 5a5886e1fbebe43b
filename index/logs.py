"""The process's one logging set-up, owned by the entry point: one handler, secrets redacted.

Library modules only ever call ``logging.getLogger(__name__)``; a second set-up (the cause of
every line printed twice) is impossible because :func:`setup_logging` replaces its own handler.
"""

from __future__ import annotations

import json
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


class JsonFormatter(RedactingFormatter):
    """One JSON object per line (``POLICYBOT_LOG_FORMAT=json``) for log shippers: time, level,
    logger, message, process, and the traceback when there is one. Secrets are redacted in each
    field before encoding, so a secret that JSON would escape cannot slip through."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(FORMAT, secrets)

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": self._redact(record.getMessage()),
            "pid": record.process,
            "thread": record.threadName,
        }
        if record.exc_info:
            entry["exception"] = self._redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self._redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Marks the handler this module installed, so a second call replaces it instead of adding one."""


def setup_logging(
    level: str, secrets: Iterable[str] = (), stream: TextIO | None = None, *, json_lines: bool = False
) -> logging.Handler:
    """Log to stderr at ``level`` with every secret redacted; safe to call again (it replaces).

    ``json_lines`` writes one JSON object per line instead of text.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler(stream or sys.stderr)
    formatter = JsonFormatter(list(secrets)) if json_lines else RedactingFormatter(FORMAT, list(secrets))
    root.addHandler(handler)
    for h in root.handlers:  # handlers someone else added (pytest's) must not leak secrets either
        h.setFormatter(formatter)
    root.setLevel(level.upper())
    for name in NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
