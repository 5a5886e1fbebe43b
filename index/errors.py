"""One exception family, so callers (CLI, bot) can turn any engine failure into a short message."""

from __future__ import annotations


class PolicybotError(Exception):
    """Base class: ``str(exc)`` is a short sentence fit to show a user."""


class QuestionError(PolicybotError):
    """The question itself is unusable (empty, too short, too long)."""


class IndexMissingError(PolicybotError):
    """No index has been built in the data folder yet."""


class IndexCorruptError(PolicybotError):
    """The live index failed verification (missing file, bad checksum, broken database)."""


class BuildLockedError(PolicybotError):
    """Another build holds the data folder's lock."""


class BuildError(PolicybotError):
    """A build failed; the previous version keeps serving."""


class ArticleError(PolicybotError):
    """An article file could not be read or parsed."""


class FetchError(PolicybotError):
    """A URL could not be fetched safely; ``str(exc)`` says why in a few words."""


class ModelMismatchError(PolicybotError):
    """The question would be embedded by another model (or model settings) than the index was."""


class ReaderWeightsError(PolicybotError):
    """The reader's weights are missing, damaged or do not match their manifest."""


class DatabaseError(PolicybotError):
    """PostgreSQL (``POLICYBOT_DATABASE_URL``) cannot be reached or refused a statement."""
