"""The engine's command line: build, ask, chat, stats (plus eval and bench when present).

``bot.cli`` adds ``run`` on top of this parser; this module never imports ``bot``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import date
from typing import Any, TextIO

from index.config import Settings
from index.errors import PolicybotError, QuestionError
from index.models import Answer, BuildProgress, BuildReport

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policybot", description="Answers questions about cybersecurity-policy news.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_subcommands(sub)
    return parser


def _common(p: argparse.ArgumentParser, corpus: bool = False) -> None:
    p.add_argument("--data", help="index folder (env POLICYBOT_DATA, default ./data)")
    p.add_argument("--model", help="sentence-transformers model name or path (env POLICYBOT_MODEL)")
    if corpus:
        p.add_argument("--corpus", help="articles folder (env POLICYBOT_CORPUS, default ./corpus)")


def add_subcommands(sub: Any) -> None:
    """Register the engine's subcommands on an ``add_subparsers()`` object."""
    p = sub.add_parser("build", help="index the corpus (incremental unless --full)")
    _common(p, corpus=True)
    p.add_argument("--full", action="store_true", help="re-embed every article")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("ask", help="answer one question, or JSON lines from stdin with --jsonl")
    _common(p, corpus=True)
    p.add_argument("question", nargs="?", help="the question (omit with --jsonl)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--jsonl", action="store_true", help='read {"id", "question"} lines on stdin')
    p.add_argument("-k", type=int, default=5, help="articles to consider (default 5)")
    p.add_argument("--source", help="only articles whose outlet contains this text")
    p.add_argument("--since", type=date.fromisoformat, help="only articles published on or after (YYYY-MM-DD)")
    p.add_argument("--until", type=date.fromisoformat, help="only articles published on or before (YYYY-MM-DD)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="a console session over the index (builds it first if missing)")
    _common(p, corpus=True)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("stats", help="what the live index holds")
    _common(p)
    p.set_defaults(func=cmd_stats)

    for module in ("index.evaluation.cli", "index.bench"):
        try:
            register = __import__(module, fromlist=["add_subparser"]).add_subparser
        except (ImportError, AttributeError):
            continue
        register(sub)


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        data_dir=getattr(args, "data", None),
        corpus_dir=getattr(args, "corpus", None),
        model=getattr(args, "model", None),
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    return dispatch(parser, argv)


def dispatch(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse, run the subcommand, and turn engine errors into one short line and exit code 1."""
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except PolicybotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for noisy in ("sentence_transformers", "transformers", "httpx", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


# ---- build ---------------------------------------------------------------------------------
def cmd_build(args: argparse.Namespace) -> int:
    from index.build import build_index

    settings = settings_from(args)
    report = run_build_with_bar(lambda progress: build_index(settings, full=args.full, progress=progress))
    print(format_report(report))
    return 0


def run_build_with_bar(run: Callable[[Callable[[BuildProgress], None]], BuildReport]) -> BuildReport:
    """Run a build, drawing one tqdm bar per stage on stderr."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(p: BuildProgress) -> None:
        bar = bars.get(p.stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[p.stage] = tqdm(total=p.total, desc=p.stage, unit="chunk" if p.stage == "embedding" else "")
        bar.total = p.total
        bar.n = p.done
        bar.refresh()

    try:
        return run(progress)
    finally:
        for bar in bars.values():
            bar.close()


def format_report(r: BuildReport) -> str:
    lines = [
        f"Built index {r.version} in {r.seconds:.1f} s: {r.articles} articles, {r.chunks_total} chunks "
        f"({r.chunks_embedded} embedded).",
        f"  added {r.added}, changed {r.changed}, removed {r.removed}, unchanged {r.unchanged}",
    ]
    if r.errors:
        lines.append(f"  skipped {len(r.errors)} file(s):")
        lines += [f"    {name}: {reason}" for name, reason in r.errors]
    return "\n".join(lines)


# ---- ask -----------------------------------------------------------------------------------
def make_engine(args: argparse.Namespace) -> Any:
    from index.engine import Engine

    return Engine(settings_from(args))


def cmd_ask(args: argparse.Namespace) -> int:
    engine = make_engine(args)
    options = {"k": args.k, "source": args.source, "since": args.since, "until": args.until}
    if args.jsonl:
        return ask_jsonl(engine, sys.stdin, sys.stdout, options)
    if not args.question:
        raise QuestionError("Give a question, or --jsonl to read questions from stdin.")
    engine.warm()
    answer = engine.ask(args.question, **options)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return 0


def ask_jsonl(engine: Any, stdin: TextIO, stdout: TextIO, options: dict[str, Any]) -> int:
    """The stable machine interface: one JSON line out for every line in, errors included."""
    engine.warm()
    for number, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        started = time.perf_counter()
        qid: Any = None
        question = ""
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                raise ValueError('expected an object with a "question" string')
            qid, question = item.get("id", number), item["question"]
            out = {"id": qid, **engine.ask(question, **options).to_json()}
        except (ValueError, PolicybotError) as exc:
            out = {
                "id": qid if qid is not None else number,
                "question": question,
                "answerable": False,
                "answer": "",
                "sources": [],
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "error": str(exc) if isinstance(exc, PolicybotError) else f"line {number}: {exc}",
            }
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


def format_answer(answer: Answer) -> str:
    lines = [answer.text]
    for n, s in enumerate(answer.sources, 1):
        when = s.published.isoformat() if s.published else "undated"
        lines.append(f"  [{n}] {s.title} — {s.source}, {when}  {s.url}".rstrip())
    if answer.answerable:
        lines.append(f"  ({answer.ms:.0f} ms, confidence {answer.confidence:.2f})")
    return "\n".join(lines)


# ---- chat ----------------------------------------------------------------------------------
def cmd_chat(args: argparse.Namespace) -> int:
    from index import versions
    from index.build import build_index

    settings = settings_from(args)
    engine = make_engine(args)
    if versions.current_version(settings.data_dir) is None:
        print(f"No index yet in {settings.data_dir}: building it from {settings.corpus_dir} ...")
        print(format_report(run_build_with_bar(lambda p: build_index(settings, progress=p))))
    return chat_loop(engine, sys.stdin, sys.stdout)


def chat_loop(engine: Any, stdin: TextIO, stdout: TextIO) -> int:
    """Read questions until EOF or 'quit'; a short follow-up uses the previous question."""
    engine.warm()
    stats = engine.stats()
    stdout.write(
        f"policybot: {stats.articles} articles (newest {stats.newest_published}). "
        "Ask a question; 'quit' to leave.\n"
    )
    previous: str | None = None
    interactive = stdin.isatty()
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        question = line.strip()
        if question.lower() in {"quit", "exit", ":q"}:
            break
        if not question:
            continue
        try:
            answer = engine.ask(question, previous=previous)
        except PolicybotError as exc:
            stdout.write(f"{exc}\n")
            continue
        stdout.write(format_answer(answer) + "\n\n")
        stdout.flush()
        previous = question
    return 0


# ---- stats ---------------------------------------------------------------------------------
def cmd_stats(args: argparse.Namespace) -> int:
    from index import versions

    engine = make_engine(args)
    s = engine.stats()
    print(f"index version   {s.version} (built {s.built_at})")
    print(f"articles        {s.articles} ({s.oldest_published} .. {s.newest_published})")
    print(f"chunks          {s.chunks}")
    print(f"sentences       {s.sentences}")
    print(f"model           {s.model}")
    print(f"data folder     {s.data_dir}")
    if versions.read_progress(engine.settings.data_dir):
        print(f"build running   {versions.read_progress_text(engine.settings.data_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
