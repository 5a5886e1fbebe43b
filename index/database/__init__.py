"""The PostgreSQL connection every part shares when ``POLICYBOT_DATABASE_URL`` is set; unset, nothing here runs."""

from index.database._connect import connect, database_error, database_url, redact_url
from index.database._lock import AdvisoryLock
from index.database._schema import ensure_schema, lock_key
from index.database._state import RowExistsError, StateDb, postgres_ddl

__all__ = [
    "AdvisoryLock",
    "RowExistsError",
    "StateDb",
    "connect",
    "database_error",
    "database_url",
    "ensure_schema",
    "lock_key",
    "postgres_ddl",
    "redact_url",
]
