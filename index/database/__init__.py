"""The PostgreSQL connection every part shares when ``POLICYBOT_DATABASE_URL`` is set; unset, nothing here runs."""

from index.database._connect import connect, database_url, redact_url
from index.database._schema import ensure_schema, lock_key

__all__ = ["connect", "database_url", "ensure_schema", "lock_key", "redact_url"]
