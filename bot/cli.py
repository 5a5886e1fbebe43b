"""``policybot``: the engine's commands (from ``index.cli``) plus ``run``, which starts the bot.

Without ``DISCORD_TOKEN``, ``run`` says so and opens the engine's console chat instead, so a
fresh checkout can be tried without a Discord application.
"""

from __future__ import annotations

import argparse
import sys

from index import cli as index_cli


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError("index.cli.build_parser() has no subcommands")


def build_parser() -> argparse.ArgumentParser:
    parser = index_cli.build_parser()
    run = _subparsers(parser).add_parser("run", help="start the Discord bot (console chat without DISCORD_TOKEN)")
    run.add_argument("--data", help="index folder (env POLICYBOT_DATA, default ./data)")
    run.add_argument("--corpus", help="articles folder (env POLICYBOT_CORPUS, default ./corpus)")
    run.add_argument("--model", help="sentence-transformers model name or path (env POLICYBOT_MODEL)")
    run.add_argument("--sharded", action="store_true", help="run with automatic sharding (env POLICYBOT_SHARDED)")
    run.set_defaults(func=cmd_run)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from bot.config import BotSettings

    overrides: dict[str, object] = {}
    if args.data:
        overrides["data_dir"] = args.data
    if args.corpus:
        overrides["corpus_dir"] = args.corpus
    if args.sharded:
        overrides["sharded"] = True
    settings = BotSettings(**overrides)  # type: ignore[arg-type]
    if settings.token() is None:
        print(
            "DISCORD_TOKEN is not set, so the Discord bot cannot start. Opening the console chat instead.",
            file=sys.stderr,
        )
        args.data, args.corpus = str(settings.data_dir), str(settings.corpus_dir)
        return int(index_cli.cmd_chat(args))
    _build_if_missing(args, settings.data_dir, settings.corpus_dir)
    from bot import runner

    return runner.run(settings, model=args.model)


def _build_if_missing(args: argparse.Namespace, data_dir: object, corpus_dir: object) -> None:
    """A fresh checkout has no index yet: build it once before connecting, with a progress bar."""
    from index import versions
    from index.build import build_index
    from index.config import Settings

    settings = Settings.from_env(data_dir=str(data_dir), corpus_dir=str(corpus_dir), model=args.model)
    if versions.current_version(settings.data_dir) is None:
        print(f"No index yet in {settings.data_dir}: building it from {settings.corpus_dir} ...", file=sys.stderr)
        report = index_cli.run_build_with_bar(lambda progress: build_index(settings, progress=progress))
        print(index_cli.format_report(report), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    return index_cli.dispatch(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
