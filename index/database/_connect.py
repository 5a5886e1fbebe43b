"""Connections to the shared PostgreSQL: short timeouts, a name in ``pg_stat_activity``, and errors
that never carry the password (a URL may hold one; logs and replies only ever see it redacted)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from index.errors import DatabaseError
from index.settings import Settings

if TYPE_CHECKING:
    import psycopg

APPLICATION = "policybot"
CONNECT_TIMEOUT = 10
_PASSWORD = re.compile(r"(?P<head>://[^:/@\s]*:)[^@\s]*@")
_PASSWORD_PARAM = re.compile(r"(?P<head>[?&\s]password=)[^&\s]*", re.IGNORECASE)


def database_url(settings: Settings) -> str | None:
    """The PostgreSQL URL (None: the embedded file store); only ``postgresql://`` URLs are accepted."""
    if settings.database_url is None:
        return None
    url = settings.database_url.get_secret_value().strip()
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise DatabaseError(f"POLICYBOT_DATABASE_URL must start with postgresql:// (got {redact_url(url)[:40]!r})")
    return url


def redact_url(text: str) -> str:
    """``text`` with any password in a connection URL or ``password=`` parameter replaced by ``***``."""
    return _PASSWORD_PARAM.sub(r"\g<head>***", _PASSWORD.sub(r"\g<head>***@", text))


def database_error(exc: BaseException, what: str = "PostgreSQL") -> DatabaseError:
    """``exc`` (a psycopg error) as a short :class:`DatabaseError` whose text names no secret."""
    return DatabaseError(f"{what}: {redact_url(str(exc)).strip()}")


def connect(url: str, *, autocommit: bool = True, **options: Any) -> psycopg.Connection[Any]:
    """A new connection; a failure is a :class:`DatabaseError` whose text names no secret."""
    import psycopg  # loaded only when a database is configured

    try:
        return psycopg.connect(
            url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT, application_name=APPLICATION, **options
        )
    except psycopg.Error as exc:
        raise database_error(exc, "cannot connect to PostgreSQL") from None
