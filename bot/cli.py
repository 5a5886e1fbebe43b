"""``policybot``: the one console command, whose parser is composed here once. The entry point reads
the settings once and sets up logging once with secrets redacted; every subcommand module is
imported directly, so a broken import fails loudly instead of hiding a command.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from bot.config import BotSettings
from bot.ops import health as health_cli
from index.cli import _engine as engine_cli
from index.cli import _feeds as feeds_cli
from index.engine import Engine
from index.errors import BuildLockedError, PolicybotError
from index.logs import setup_logging
from measure.bench import feeds as feeds_bench
from measure.bench import speed as bench_cli
from measure.eval import cli as eval_cli

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

    builder = sub.add_parser("builder", help="only ingest feeds and build (the leader; no Discord), for replicas to serve")
    engine_cli.add_common(builder)
    builder.set_defaults(func=cmd_builder)

    health = sub.add_parser("health", help="exit 0 when the index verifies and this instance's process is up")
    engine_cli.add_common(health, corpus=False)
    health.add_argument("--instance", help="whose status file to check (env POLICYBOT_INSTANCE, default the host name)")
    health.add_argument("--all", action="store_true", help="list every process sharing the data folder")
    health.set_defaults(func=health_cli.cmd_health)

    feedback = sub.add_parser("feedback", help="print the 👍/👎 votes as JSON lines (question, answer, index version)")
    engine_cli.add_common(feedback, corpus=False)
    feedback.set_defaults(func=cmd_feedback)

    forget = sub.add_parser("forget", help="delete what is stored about a Discord user (questions, votes, watches)")
    engine_cli.add_common(forget, corpus=False)
    forget.add_argument("user_id", type=int, help="the user's Discord id")
    forget.set_defaults(func=cmd_forget)
    return parser


def read_settings(args: argparse.Namespace) -> BotSettings:
    """The one read of the settings for this process; flags given on the command line win."""
    overrides = {field: getattr(args, flag, None) for flag, field in ARGUMENT_SETTINGS.items()}
    overrides["sharded"] = getattr(args, "sharded", None)
    return BotSettings.load(**overrides)


def log_level(args: argparse.Namespace, settings: BotSettings) -> str:
    if args.verbose:
        return "INFO"
    return settings.log_level or ("INFO" if args.command in ("run", "builder") else "WARNING")


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
    setup_logging(log_level(args, settings), secrets=settings.secrets(), json_lines=settings.log_format == "json")
    try:
        return int(args.func(args, settings))
    except PolicybotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def cmd_run(args: argparse.Namespace, settings: BotSettings) -> int:
    if settings.role == "builder":  # one image, one command: the role picks what the process does
        return cmd_builder(args, settings)
    engine = Engine(settings)
    if settings.token() is None:
        print(
            "DISCORD_TOKEN is not set, so the Discord bot cannot start. Opening the console chat instead.",
            file=sys.stderr,
        )
        engine_cli.build_if_missing(engine, sys.stdout)
        return engine_cli.chat_loop(engine, sys.stdin, sys.stdout)
    if settings.role == "replica":
        print("replica: serving the index the builder publishes (not building here)", file=sys.stderr)
    else:
        try:
            engine_cli.build_if_missing(engine)
        except BuildLockedError as exc:  # another process is building it: serve once it is published
            print(f"not building here: {exc}", file=sys.stderr)
    from bot import runner  # imported here: discord.py is only needed for the real bot

    return runner.run(settings, engine)


def cmd_builder(args: argparse.Namespace, settings: BotSettings) -> int:
    from bot.ops import builder as builder

    return builder.run(settings, Engine(settings))


def cmd_feedback(args: argparse.Namespace, settings: BotSettings) -> int:
    from bot.features.answers.feedback import FeedbackStore

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


def cmd_forget(args: argparse.Namespace, settings: BotSettings) -> int:
    """Erase one user's questions, votes and watches (a running bot may keep serving: SQLite WAL)."""
    from bot.features.answers.feedback import FeedbackStore
    from bot.features.watch.store import WatchStore

    answers = votes = watches = 0
    if settings.feedback_db.exists():
        store = FeedbackStore(settings.feedback_db)
        try:
            answers, votes = store.forget_user(args.user_id)
        finally:
            store.close()
    if settings.watches_db.exists():
        watch_store = WatchStore(settings.watches_db)
        try:
            watches = watch_store.forget_user(args.user_id)
        finally:
            watch_store.close()
    print(f"forgot user {args.user_id}: {answers} question(s), {votes} vote(s), {watches} watch(es) deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
