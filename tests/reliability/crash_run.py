"""Randomised crash harness, the process: ``python -m tests.reliability.crash_run --seed 11 --out report.json``.

``tests/reliability/test_crash.py`` runs it and asserts on the JSON report; the three scenarios
(``crash_driver``: builds, ``crash_feeds``: feed polls, ``crash_stores``: the bot's SQLite stores)
run in this one process, which forks one child per run (see ``crash_driver``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--builds", type=int, default=28)
    parser.add_argument("--polls", type=int, default=16)
    parser.add_argument("--stores", type=int, default=12)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from measure.netguard import guard_network

    guard_network()  # this process and its children talk to 127.0.0.1 only
    # Imported once here, so every forked child starts with them loaded (a run costs a fork, not an import).
    import bot.cli  # noqa: F401
    import index.engine
    import index.feeds._poll  # noqa: F401
    import tests.support.fakes  # noqa: F401
    from index.models import ner
    from tests.reliability.crash_driver import crash_builds
    from tests.reliability.crash_feeds import crash_feed_polls
    from tests.reliability.crash_stores import crash_stores

    # No spaCy thread in a process that forks (a fork while it imports could deadlock the child);
    # the checks need answers and sources, not bold names.
    ner._started = True
    ner._ready.set()
    env = {"POLICYBOT_FETCH_ALLOW_PRIVATE": "1", "POLICYBOT_FETCH_TIMEOUT": "5", "POLICYBOT_KEEP_VERSIONS": "3"}
    started = time.monotonic()
    report: dict[str, Any] = {"seed": args.seed}
    report["build"] = crash_builds(args.root / "build", random.Random(args.seed), args.builds, env)
    report["feeds_poll"] = crash_feed_polls(args.root / "feeds", random.Random(args.seed + 1), args.polls, env)
    report["stores"] = crash_stores(args.root, random.Random(args.seed + 2), args.stores)
    report["total_runs"] = args.builds + args.polls + args.stores
    report["total_kills"] = report["build"]["killed"] + report["feeds_poll"]["killed"] + args.stores
    report["losses"] = report["build"]["losses"] + report["feeds_poll"]["losses"] + report["stores"]["losses"]
    report["seconds"] = round(time.monotonic() - started, 1)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
