"""``policybot``: the one console command. Its parser is composed here, once.

The entry point owns the process's set-up: it reads the settings once (arguments, then the
environment, then ``.env``), configures logging once with every secret redacted, and hands the
settings to the chosen subcommand. Every subcommand module is imported directly, so a broken
import fails loudly instead of hiding a command.

Without ``DISCORD_TOKEN``, ``run`` says so and opens the console chat instead, so a fresh checkout
can be tried without a Discord application.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from bot.config import BotSettings
from index import cli as engine_cli
from index.engine import Engine
from index.errors import PolicybotError
from index.feeds import cli as feeds_cli
from index.logs import setup_logging
from index.measure import bench as bench_cli
from index.measure import cli as eval_cli
from index.measure import feeds_bench

ARGUMENT_SETTINGS = {"data": "data_dir", "corpus": "corpus_dir", "model": "model"}
"""Command-line options that override a setting (the flag wins over the environment)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policybot", description="Answers questions about cybersecurity-policy news.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (INFO)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    engine_cli.add_subcommands(sub)
    feeds_cli.add_subcommands(sub)
    eval_cli.add_subparser(sub)
    bench_cli.add_subparser(sub)
    feeds_bench.add_subparser(sub)

    run = sub.add_parser("run", help="start the Discord bot (console chat without DISCORD_TOKEN)")
    engine_cli.add_common(run)
    run.add_argument("--sharded", action="store_true", default=None, help="automatic sharding (env POLICYBOT_SHARDED)")
    run.set_defaults(func=cmd_run)

    feedback = sub.add_parser("feedback", help="print the 👍/👎 votes as JSON lines (question, answer, index version)")
    engine_cli.add_common(feedback, corpus=False)
    feedback.set_defaults(func=cmd_feedback)
    return parser


def read_settings(args: argparse.Namespace) -> BotSettings:
    """The one read of the settings for this process; flags given on the command line win."""
    overrides = {field: getattr(args, flag, None) for flag, field in ARGUMENT_SETTINGS.items()}
    overrides["sharded"] = getattr(args, "sharded", None)
    return BotSettings.load(**overrides)


def log_level(args: argparse.Namespace, settings: BotSettings) -> str:
    if args.verbose:
        return "INFO"
    return settings.log_level or ("INFO" if args.command == "run" else "WARNING")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = read_settings(args)
    except ValueError as exc:  # pydantic's ValidationError: a malformed POLICYBOT_* value
        print(f"error: bad setting: {exc}", file=sys.stderr)
        return 2
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    setup_logging(log_level(args, settings), secrets=settings.secrets())
    try:
        return int(args.func(args, settings))
    except PolicybotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def cmd_run(args: argparse.Namespace, settings: BotSettings) -> int:
    engine = Engine(settings)
    if settings.token() is None:
        print(
            "DISCORD_TOKEN is not set, so the Discord bot cannot start. Opening the console chat instead.",
            file=sys.stderr,
        )
        engine_cli.build_if_missing(engine, sys.stdout)
        return engine_cli.chat_loop(engine, sys.stdin, sys.stdout)
    engine_cli.build_if_missing(engine)
    from bot import runner  # imported here: discord.py is only needed for the real bot

    return runner.run(settings, engine)


def cmd_feedback(args: argparse.Namespace, settings: BotSettings) -> int:
    from bot.feedback import FeedbackStore

    if not settings.feedback_db.exists():
        print(f"error: no feedback yet ({settings.feedback_db} does not exist)", file=sys.stderr)
        return 1
    store = FeedbackStore(settings.feedback_db)
    try:
        for vote in store.votes():
            print(json.dumps(vote, ensure_ascii=False))
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
