"""``policybot digest``: the period's stories, as ``/digest`` shows them, on the console or as JSON."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from index.cli._engine import add_common
from index.digest import MAX_DAYS, Digest
from index.engine import Engine
from index.errors import PolicybotError
from index.settings import Settings


def add_subcommands(sub: Any) -> None:
    p = sub.add_parser("digest", help="what happened in the news over the last days: one quoted line per story")
    add_common(p, corpus=True)
    p.add_argument("--days", type=int, default=7, help=f"the period, in days up to today (1-{MAX_DAYS}, default 7)")
    p.add_argument("--date", type=date.fromisoformat, help="the period's last day (YYYY-MM-DD; default POLICYBOT_TODAY or today)")
    p.add_argument("--json", action="store_true", help="print the digest as JSON")
    p.set_defaults(func=cmd_digest)


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    try:
        digest = Engine(settings).digest.stories(args.days, today=args.date)
    except ValueError as exc:
        raise PolicybotError(str(exc)) from exc
    print(json.dumps(digest.to_json(), ensure_ascii=False, indent=2) if args.json else format_digest(digest))
    return 0


def format_digest(digest: Digest) -> str:
    """One block per story: its date and quoted sentence, then its numbered sources."""
    head = f"News from {digest.since} to {digest.until}: "
    if not digest.stories:
        return head + "no articles in the index for this period."
    lines = [head + f"{len(digest.stories)} stor{'y' if len(digest.stories) == 1 else 'ies'} from {digest.articles} article(s)."]
    n = 0
    for story in digest.stories:
        marks = "".join(f"[{n + i}]" for i in range(1, len(story.sources) + 1))
        lines.append(f"\n{story.published}  “{story.quote}” {marks}")
        for c in story.sources:
            n += 1
            lines.append(f"    [{n}] {c.title} — {c.source}  {c.url}".rstrip())
    if digest.more:
        lines.append(f"\n…and {digest.more} more stor{'y' if digest.more == 1 else 'ies'} (fewer outlets).")
    return "\n".join(lines)
