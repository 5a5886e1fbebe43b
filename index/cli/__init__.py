"""The engine's console commands (``policybot build | ask | chat | stats | feeds | add | digest``).

The ``policybot`` parser is composed by the entry point (``bot.cli``); this package only
registers its commands there and never imports ``bot``.
"""

from typing import Any

from index.cli import _digest, _engine, _feeds
from index.cli._engine import add_common as add_index_options
from index.cli._engine import build_if_missing, chat_loop


def add_engine_commands(sub: Any) -> None:
    """Register build, ask, chat, stats, feeds, add and digest on the main parser's ``add_subparsers()``."""
    _engine.add_subcommands(sub)
    _feeds.add_subcommands(sub)
    _digest.add_subcommands(sub)


__all__ = ["add_engine_commands", "add_index_options", "build_if_missing", "chat_loop"]
