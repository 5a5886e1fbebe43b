"""The engine's subcommands: build, ask, chat, stats.

The ``policybot`` parser is composed once, by the entry point; every handler takes ``(args,
settings)``: the settings are read once there and handed down.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TextIO, TypeVar

from index.ask import Filters
from index.engine import Engine
from index.errors import PolicybotError, QuestionError
from index.settings import Settings
from index.types import Answer, BuildProgress, BuildReport

Handler = Callable[[argparse.Namespace, Settings], int]
R = TypeVar("R")


def add_common(p: argparse.ArgumentParser, corpus: bool = True) -> None:
    """The options every command that touches an index shares (they win over the environment)."""
    p.add_argument("--data", help="index folder (env POLICYBOT_DATA, default ./data)")
    p.add_argument("--model", help="sentence-transformers model name or path (env POLICYBOT_MODEL)")
    if corpus:
        p.add_argument("--corpus", help="articles folder (env POLICYBOT_CORPUS, default ./corpus)")


def add_subcommands(sub: Any) -> None:
    """Register build, ask, chat and stats on the main parser's ``add_subparsers()`` object."""
    p = sub.add_parser("build", help="index the corpus (incremental unless --full)")
    add_common(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--full", action="store_true", help="re-embed every article")
    how.add_argument(
        "--changed", nargs="+", type=Path, metavar="FILE",
        help="only these corpus files were written or deleted: look at them instead of comparing every file",
    )
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("ask", help="answer one question, or JSON lines from stdin with --jsonl")
    add_common(p)
    p.add_argument("question", nargs="?", help="the question (omit with --jsonl)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--jsonl", action="store_true", help='read {"id", "question"[, "date"]} lines on stdin')
    p.add_argument("-k", type=int, default=5, help="articles to consider (default 5)")
    p.add_argument("--source", help="only articles whose outlet contains this text")
    p.add_argument("--since", type=date.fromisoformat, help="only articles published on or after (YYYY-MM-DD)")
    p.add_argument("--until", type=date.fromisoformat, help="only articles published on or before (YYYY-MM-DD)")
    p.add_argument("--date", type=date.fromisoformat, help="the day the question is asked (YYYY-MM-DD)")
    add_answer_style(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="a console session over the index (builds it first if missing)")
    add_common(p)
    add_answer_style(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("stats", help="what the live index holds")
    add_common(p, corpus=False)
    p.set_defaults(func=cmd_stats)


def add_answer_style(p: argparse.ArgumentParser) -> None:
    """``--written`` / ``--quoted``: force the answer style (default: ``POLICYBOT_ANSWERS``)."""
    style = p.add_mutually_exclusive_group()
    style.add_argument(
        "--written", dest="written", action="store_const", const=True, default=None,
        help="write the answer with the language model (POLICYBOT_LLM_URL or POLICYBOT_LLM_GGUF), checked against the quotes",
    )
    style.add_argument("--quoted", dest="written", action="store_const", const=False, help="quoted sentences only")


# ---- build ---------------------------------------------------------------------------------
def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    engine = Engine(settings)
    changed = getattr(args, "changed", None)
    report = run_build_with_bar(lambda progress: engine.build(full=args.full, progress=progress, changed=changed))
    print(format_report(report))
    return 0


def build_if_missing(engine: Engine, out: TextIO = sys.stderr) -> None:
    """A fresh checkout has no index yet (or an unusable one): build it once, with a progress bar."""
    s = engine.settings
    if not engine.has_index():
        print(f"No index yet in {s.data_dir}: building it from {s.corpus_dir} ...", file=out)
    report = run_build_with_bar(lambda progress: engine.ensure_built(progress=progress))
    if report is not None:
        print(format_report(report), file=out)


def run_build_with_bar(run: Callable[[Callable[[BuildProgress], None]], R]) -> R:
    """Run a build, drawing one tqdm bar per stage on stderr."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(p: BuildProgress) -> None:
        bar = bars.get(p.stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[p.stage] = tqdm(total=p.total, desc=p.stage, unit="chunk" if p.stage in ("embedding", "re-scoring") else "")
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
def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    engine = Engine(settings)
    filters = Filters(args.source, args.since, args.until)
    if args.jsonl:
        return ask_jsonl(engine, sys.stdin, sys.stdout, filters=filters, k=args.k, written=args.written)
    if not args.question:
        raise QuestionError("Give a question, or --jsonl to read questions from stdin.")
    engine.warm()
    answer = engine.ask(args.question, filters=filters, asked_on=args.date, k=args.k, written=args.written)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer, bold=sys.stdout.isatty()))
    return 0


def ask_jsonl(
    engine: Engine,
    stdin: TextIO,
    stdout: TextIO,
    *,
    filters: Filters | None = None,
    k: int = 5,
    written: bool | None = None,
) -> int:
    """The stable machine interface: one JSON line out for every line in, errors included.

    A line may carry ``"date"`` (YYYY-MM-DD): the day the question was asked, which "last week"
    and "latest" refer to.
    """
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
            asked_on = date.fromisoformat(str(item["date"])[:10]) if item.get("date") else None
            answer = engine.ask(question, filters=filters, asked_on=asked_on, k=k, written=written)
            out = {"id": qid, **answer.to_json()}
        except (ValueError, PolicybotError) as exc:
            out = {
                "id": qid if qid is not None else number,
                "question": question,
                "answerable": False,
                "answer": "",
                "spans": [],
                "sources": [],
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "generated": False,
                "checker": "off",
                "quoted": "",
                "error": str(exc) if isinstance(exc, PolicybotError) else f"line {number}: {exc}",
            }
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


BOLD, RESET = "\033[1m", "\033[0m"


def emphasise(answer: Answer, *, bold: bool) -> str:
    """The answer text for a terminal: spans in bold when it is one, plain otherwise."""
    if not bold:
        return answer.text
    out, pos = [], 0
    for span in answer.spans:
        out += [answer.text[pos : span.start], BOLD, answer.text[span.start : span.end], RESET]
        pos = span.end
    out.append(answer.text[pos:])
    return "".join(out)


def format_answer(answer: Answer, *, bold: bool = False) -> str:
    """The short answer (when the reader found one), the text, its sources, and for an ambiguous
    question the other stories, each with its title, date and short answer."""
    lines = []
    if answer.alternatives:
        lines.append(f"This question matches {1 + len(answer.alternatives)} stories; the best match first.")
    short = answer.short_answer
    if short and not answer.text.startswith(short.rstrip(".") + "."):  # not when the text opens with it
        lines.append(f"{BOLD}{short}{RESET}" if bold else short)
    lines.append(emphasise(answer, bold=bold))
    for n, s in enumerate(answer.sources, 1):
        c = s.citation
        when = c.published.isoformat() if c.published else "undated"
        lines.append(f"  [{n}] {c.title} — {c.source}, {when}  {c.url}".rstrip())
    if answer.alternatives:
        lines.append("  Other stories:")
    for n, other in enumerate(answer.alternatives, 2):
        story = other.sources[0].citation if other.sources else None
        when = story.published.isoformat() if story and story.published else "undated"
        lines.append(f"  {n}. {story.title if story else 'untitled'} ({when}): {other.short_answer or other.text}")
    if answer.generated:  # the written text is the model's: show what it was checked against
        lines.append("  Quoted sentences:")
        lines += [f"  [{n}] “{' '.join(s.quote.split())}”" for n, s in enumerate(answer.sources, 1)]
    if answer.answerable:
        note = ""
        if answer.generated:
            note = ", written by a language model and checked against the quotes"
        elif answer.checker not in ("", "off"):
            note = f", quoted (written answer not used: {answer.checker})"
        lines.append(
            f"  ({answer.ms:.0f} ms, confidence {answer.confidence:.2f}, index {answer.index_version}{note})"
        )
    return "\n".join(lines)


# ---- chat ----------------------------------------------------------------------------------
def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    engine = Engine(settings)
    build_if_missing(engine, sys.stdout)
    return chat_loop(engine, sys.stdin, sys.stdout, written=args.written)


def chat_loop(engine: Engine, stdin: TextIO, stdout: TextIO, *, written: bool | None = None) -> int:
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
            answer = engine.ask(question, previous=previous, written=written)
        except PolicybotError as exc:
            stdout.write(f"{exc}\n")
            continue
        stdout.write(format_answer(answer, bold=interactive and stdout.isatty()) + "\n\n")
        stdout.flush()
        previous = question
    return 0


# ---- stats ---------------------------------------------------------------------------------
def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    s = Engine(settings).stats()
    print(f"index version   {s.version} (built {s.built_at})")
    print(f"articles        {s.articles} ({s.oldest_published} .. {s.newest_published})")
    print(f"chunks          {s.chunks}")
    print(f"sentences       {s.sentences}")
    print(f"model           {s.model}")
    print(f"data folder     {s.data_dir}")
    if s.build_running:
        print(f"build running   {s.build_running}")
    return 0
