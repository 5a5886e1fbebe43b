"""The answer engine's public surface: everything ``bot/`` (and any other front end) may use.

Values, errors, settings and logging load at once; the engine, its query helpers and the feed
values load on first use, so importing a value type never pulls in the models. ``index`` never imports ``bot``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from index.errors import (
    ArticleError,
    BuildError,
    BuildLockedError,
    DatabaseError,
    FetchError,
    IndexCorruptError,
    IndexMissingError,
    ModelMismatchError,
    PolicybotError,
    QuestionError,
)
from index.logs import setup_logging
from index.settings import Settings, env
from index.types import Answer, ArticleHit, BuildProgress, BuildReport, Citation, IndexStats, Source, Span

if TYPE_CHECKING:
    from index.ask import Filters, check_question, question_from_text
    from index.cli import add_engine_commands, add_index_options, build_if_missing, chat_loop
    from index.database import AdvisoryLock, RowExistsError, StateDb, database_url
    from index.digest import Digest, QuestionGroup, Story
    from index.engine import Engine
    from index.feeds import FeedAlert, FeedError, FeedPoll, FeedState, FreshArticle, OpmlError, OpmlImport

_LAZY = {
    "AdvisoryLock": "index.database",
    "RowExistsError": "index.database",
    "StateDb": "index.database",
    "database_url": "index.database",
    "Engine": "index.engine",
    "Filters": "index.ask",
    "check_question": "index.ask",
    "question_from_text": "index.ask",
    "FeedAlert": "index.feeds",
    "Digest": "index.digest",
    "QuestionGroup": "index.digest",
    "Story": "index.digest",
    "FeedError": "index.feeds",
    "FeedPoll": "index.feeds",
    "FeedState": "index.feeds",
    "FreshArticle": "index.feeds",
    "OpmlError": "index.feeds",
    "OpmlImport": "index.feeds",
    "add_engine_commands": "index.cli",
    "add_index_options": "index.cli",
    "build_if_missing": "index.cli",
    "chat_loop": "index.cli",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "AdvisoryLock",
    "Answer",
    "ArticleError",
    "ArticleHit",
    "BuildError",
    "BuildLockedError",
    "BuildProgress",
    "BuildReport",
    "Citation",
    "DatabaseError",
    "Digest",
    "Engine",
    "FeedAlert",
    "FeedError",
    "FeedPoll",
    "FeedState",
    "FetchError",
    "Filters",
    "FreshArticle",
    "IndexCorruptError",
    "IndexMissingError",
    "IndexStats",
    "ModelMismatchError",
    "OpmlError",
    "OpmlImport",
    "PolicybotError",
    "QuestionError",
    "QuestionGroup",
    "RowExistsError",
    "Settings",
    "Source",
    "Span",
    "StateDb",
    "Story",
    "add_engine_commands",
    "add_index_options",
    "build_if_missing",
    "chat_loop",
    "check_question",
    "database_url",
    "env",
    "question_from_text",
    "setup_logging",
]
