"""Load: 200 questions from 50 users at once through the fake Discord, while a feed poll and a
reindex run. Every question is answered or told when to retry; nothing else is asserted about
time (the figures come from ``measure/bench/load.py``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from measure.bench.load_scenario import run_load
from measure.fakediscord import FakeDiscord

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord


async def test_200_questions_from_50_users_with_a_reindex_and_a_feed_poll(fake: FakeDiscord, start_bot: Any) -> None:
    fake.interaction_deadline = 3.0  # Discord's own rule: acknowledge within 3 s, even under load
    bot = await start_bot(cooldown_seconds=10, max_concurrent=4, feeds_poll_seconds=3600)
    report = await run_load(fake, bot, questions=200, users=50)
    print(json.dumps(report.summary()))
    assert not report.failed, report.failed[:5]
    assert report.answered + report.told_to_retry == 200
    assert report.answered >= 50  # each user's first question at least; the rest were told when to retry
    assert report.reindex == "finished" or "another build is already running" in report.reindex
    assert report.poll_indexed or report.reindex == "finished"
    assert not fake.rejected and not fake.unknown_routes
