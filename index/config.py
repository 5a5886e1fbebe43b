"""Transitional: the bundled-model sentinel now lives in :mod:`index.settings`."""

from index.settings import DEFAULT_MODEL

__all__ = ["DEFAULT_MODEL"]
