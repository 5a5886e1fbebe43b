"""The measurement commands (``policybot eval``, ``bench``, ``bench-feeds``), registered on demand.

``bot/cli.py`` imports this module only when one of them runs, so the bot never loads measurement
code; ``missing()`` names what the ``eval`` extra would install, for a one-line error instead of a
traceback.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from measure.bench import feeds as feeds_bench
from measure.bench import speed as bench_cli
from measure.eval import cli as eval_cli

EXTRA_MODULES = ("matplotlib",)
"""The import names of the ``eval`` extra's packages (pyproject ``[project.optional-dependencies]``)."""


def missing() -> list[str]:
    """The ``eval`` extra's modules this interpreter cannot import."""
    return [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]


def add_subcommands(sub: Any) -> None:
    """Register ``eval``, ``bench`` and ``bench-feeds`` on the main parser's subparsers."""
    eval_cli.add_subparser(sub)
    bench_cli.add_subparser(sub)
    feeds_bench.add_subparser(sub)
