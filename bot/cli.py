"""``policybot``: the one console command, whose parser is composed here once. The entry point reads
the settings once and sets up logging once with secrets redacted; subcommand modules are imported
directly (a broken import fails loudly), except ``measure``, imported only when its commands run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import TextIO

from bot.config import BotSettings
from bot.ops import health as health_cli
from index import (
    BuildLockedError,
    Engine,
    PolicybotError,
    add_engine_commands,
    add_index_options,
    build_if_missing,
    chat_loop,
    setup_logging,
)

ARGUMENT_SETTINGS = {"data": "data_dir", "corpus": "corpus_dir", "model": "model"}
"""Command-line options that override a setting (the flag wins over the environment)."""
MEASURE_COMMANDS = {
    "eval": "measure retrieval, answers, abstention and latency on a question set",
    "bench": "measure build throughput, rebuild time, query latency, memory",
    "bench-feeds": "feed ingestion throughput and item-to-answer freshness (local server)",
}
"""Commands of the optional ``measure`` package: listed always, their options loaded when one runs."""
EVAL_EXTRA = "install the eval extra: pip install 'policybot[eval]'"
NO_TOKEN_NO_TERMINAL = (
    "policybot run: DISCORD_TOKEN is not set, so the Discord bot cannot start, and there is no terminal "
    "for the console chat. To put the bot in Discord, create an application in the Discord Developer Portal "
    "(https://discord.com/developers/applications), open its Bot page and copy the token (Reset Token); "
    "docs/discord-setup.md walks through it and through inviting the bot. Then copy .env.example to .env "
    "(next to compose.yaml, or in the folder you start policybot from), set DISCORD_TOKEN=<the token> there "
    "(or pass DISCORD_TOKEN in the environment) and start again: docker compose up -d, or bash scripts/run.sh. "
    "To ask questions without Discord, run policybot chat (or policybot run in a terminal)."
)
"""What ``run`` says when it can do nothing useful (as under compose with no token): how to set it up."""


def build_parser(measure_cli: ModuleType | None = None) -> argparse.ArgumentParser:
    """The whole command line; the measurement commands in full only when ``measure_cli`` is given."""
    parser = argparse.ArgumentParser(prog="policybot", description="Answers questions about cybersecurity-policy news.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (INFO)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_engine_commands(sub)
    if measure_cli is not None:
        measure_cli.add_subcommands(sub)
    else:  # placeholders: named in --help, their options parsed once measure is loaded
        for name, help_text in MEASURE_COMMANDS.items():
            sub.add_parser(name, help=help_text, add_help=False)

    run = sub.add_parser("run", help="start the Discord bot (without DISCORD_TOKEN: the console chat in a terminal, else how to set it up)")
    add_index_options(run)
    run.add_argument("--sharded", action="store_true", default=None, help="automatic sharding (env POLICYBOT_SHARDED)")
    run.set_defaults(func=cmd_run)

    builder = sub.add_parser("builder", help="only ingest feeds and build (the leader; no Discord), for replicas to serve")
    add_index_options(builder)
    builder.set_defaults(func=cmd_builder)

    health = sub.add_parser("health", help="exit 0 when the index verifies and this instance's process is up")
    add_index_options(health, corpus=False)
    health.add_argument("--instance", help="whose status file to check (env POLICYBOT_INSTANCE, default the host name)")
    health.add_argument("--all", action="store_true", help="list every process sharing the data folder")
    health.set_defaults(func=health_cli.cmd_health)

    feedback = sub.add_parser("feedback", help="print the 👍/👎 votes as JSON lines (question, answer, index version)")
    add_index_options(feedback, corpus=False)
    feedback.set_defaults(func=cmd_feedback)

    gaps = sub.add_parser("gaps", help="declined and 👎 questions grouped by meaning, with the nearest article")
    add_index_options(gaps)
    gaps.add_argument("--days", type=int, default=7, help="the last how many days (default 7)")
    gaps.add_argument("--export", type=Path, metavar="FILE", help="also write them as evaluation questions (JSONL)")
    gaps.set_defaults(func=cmd_gaps)

    forget = sub.add_parser("forget", help="delete what is stored about a Discord user (questions, votes, watches)")
    add_index_options(forget, corpus=False)
    forget.add_argument("user_id", type=int, help="the user's Discord id")
    forget.set_defaults(func=cmd_forget)
    return parser


def load_measure() -> ModuleType | None:
    """``measure.cli``, or None when the ``measure`` package or its ``eval`` extra is not installed."""
    try:
        from measure import cli as measure_cli
    except ModuleNotFoundError as exc:
        if exc.name != "measure":  # a broken import inside measure fails loudly
            raise
        return None
    return None if measure_cli.missing() else measure_cli


def parse_arguments(argv: list[str] | None) -> argparse.Namespace | int:
    """The parsed command line, or an exit status when a measurement command cannot run here."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command in MEASURE_COMMANDS:
        measure_cli = load_measure()
        if measure_cli is None:
            print(f"error: policybot {args.command} needs the measurement tools: {EVAL_EXTRA}", file=sys.stderr)
            return 2
        return build_parser(measure_cli).parse_args(argv)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


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
    args = parse_arguments(argv)
    if isinstance(args, int):
        return args
    if not getattr(args, "func", None):
        build_parser().print_help()
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
    if settings.token() is None and not has_terminal(sys.stdin):
        print(NO_TOKEN_NO_TERMINAL, file=sys.stderr)  # before the engine: no model load to say it
        return 2
    engine = Engine(settings)
    if settings.token() is None:
        print(
            "DISCORD_TOKEN is not set, so the Discord bot cannot start. Opening the console chat instead.",
            file=sys.stderr,
        )
        build_if_missing(engine, sys.stdout)
        return chat_loop(engine, sys.stdin, sys.stdout)
    if settings.role == "replica":
        print("replica: serving the index the builder publishes (not building here)", file=sys.stderr)
    else:
        try:
            build_if_missing(engine)
        except BuildLockedError as exc:  # another process is building it: serve once it is published
            print(f"not building here: {exc}", file=sys.stderr)
    from bot import runner  # imported here: discord.py is only needed for the real bot

    return runner.run(settings, engine)


def has_terminal(stream: TextIO | None) -> bool:
    """True when a person can type into ``stream``; False when stdin is closed, /dev/null or a pipe."""
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):  # a closed stream
        return False


def cmd_builder(args: argparse.Namespace, settings: BotSettings) -> int:
    from bot.ops import builder as builder

    return builder.run(settings, Engine(settings))


def cmd_feedback(args: argparse.Namespace, settings: BotSettings) -> int:
    from bot.features.answers.feedback import FeedbackStore

    if settings.database is None and not settings.feedback_db.exists():
        print(f"error: no feedback yet ({settings.feedback_db} does not exist)", file=sys.stderr)
        return 1
    store = FeedbackStore(settings.feedback_db, database_url=settings.database)
    try:
        for vote in store.votes():
            print(json.dumps(vote, ensure_ascii=False))
    finally:
        store.close()
    return 0


def cmd_gaps(args: argparse.Namespace, settings: BotSettings) -> int:
    from bot.core.gaps import export_questions, format_gaps, gap_report, since
    from bot.features.answers.feedback import FeedbackStore

    if args.days < 1:
        print("error: --days must be at least 1", file=sys.stderr)
        return 2
    if settings.database is None and not settings.feedback_db.exists():
        print(f"error: no questions stored yet ({settings.feedback_db} does not exist)", file=sys.stderr)
        return 1
    store = FeedbackStore(settings.feedback_db, database_url=settings.database)
    try:
        questions = store.gap_questions(since(args.days))
    finally:
        store.close()
    gaps = gap_report(Engine(settings), questions)
    print(format_gaps(gaps, args.days))
    if args.export is not None:
        try:
            written = export_questions(gaps, args.export)
        except OSError as exc:
            print(f"error: cannot write {args.export}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"wrote {written} evaluation question(s) to {args.export}", file=sys.stderr)
    return 0


def cmd_forget(args: argparse.Namespace, settings: BotSettings) -> int:
    """Erase one user's questions, votes and watches (a running bot may keep serving: SQLite WAL, or PostgreSQL)."""
    from bot.features.answers.feedback import FeedbackStore
    from bot.features.watch.store import WatchStore

    answers = votes = watches = 0
    if settings.database is not None or settings.feedback_db.exists():
        store = FeedbackStore(settings.feedback_db, database_url=settings.database)
        try:
            answers, votes = store.forget_user(args.user_id)
        finally:
            store.close()
    if settings.database is not None or settings.watches_db.exists():
        watch_store = WatchStore(settings.watches_db, database_url=settings.database)
        try:
            watches = watch_store.forget_user(args.user_id)
        finally:
            watch_store.close()
    print(f"forgot user {args.user_id}: {answers} question(s), {votes} vote(s), {watches} watch(es) deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
