"""End to end through the fake Discord: /digest folds one story's copies into one cited line,
newest first, inert; a scheduled digest is posted exactly once per week at its time, across a
restart of the schedule, and not after it is turned off (the clock is driven through its seam)."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.features.digest.schedule import SCHEDULER, DigestScheduler
from index.engine import Engine
from index.settings import Settings
from measure.fakediscord import EPHEMERAL, FakeDiscord
from tests.bot.conftest import Base, Workspace
from tests.support import REPO

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord

TODAY = date(2021, 5, 20)
ZENDA = """---
title: "Ruritania fines **Zenda Telecom** over late breach report"
source: Ruritania Wire
url: https://ruritania.example/zenda-fine
published: 2021-05-18
---
The Ruritanian data protection authority fined Zenda Telecom 2.4 million euros @everyone for reporting a data breach three weeks late.

The authority said the breach exposed the call records of 800,000 customers and had to be reported within 72 hours.

Zenda Telecom said it would not appeal and had hired an outside firm to review its incident response.
"""
SAMPLES = {  # the project's own sample articles, by date: two copies of one story on 2021-05-19
    "colonial-pipeline-ransom-paid.md": "2021-05-19",
    "colonial-pipeline-ransom-paid-wire-copy.md": "2021-05-19",
    "executive-order-14028.md": "2021-05-12",
    "jbs-paid-ransom.md": "2021-06-09",  # after "today": never in the digest
    "tsa-pipeline-directive-july-2021.md": "2021-07-20",
}
WIRE_URL = "https://wire.example/colonial-ransom"


@pytest.fixture(scope="module")
def digest_base(base_index: Base, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digest")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in SAMPLES:
        shutil.copy(REPO / "corpus" / name, corpus / name)
    paid = corpus / "colonial-pipeline-ransom-paid.md"  # a wire copy the feeds folded into this file
    paid.write_text(
        paid.read_text().replace("tags:", f"also_published_by:\n- source: Wire Daily\n  url: {WIRE_URL}\ntags:", 1)
    )
    (corpus / "zenda-fine.md").write_text(ZENDA)
    Engine(Settings(_env_file=None, data_dir=root / "data", corpus_dir=corpus), embedder=base_index.embedder).build()
    return root


@pytest.fixture
def workspace(digest_base: Path, base_index: Base, tmp_path: Path) -> Workspace:
    shutil.copytree(digest_base / "corpus", tmp_path / "corpus")
    shutil.copytree(digest_base / "data", tmp_path / "data")
    return Workspace(tmp_path / "corpus", tmp_path / "data", base_index.embedder)


def bodies(workspace: Workspace) -> str:
    return " ".join(" ".join(p.read_text().split()) for p in workspace.corpus.iterdir())


async def test_digest_folds_copies_cites_them_newest_first_and_is_inert(
    fake: FakeDiscord, start_bot: Any, workspace: Workspace, no_pings_everywhere: None
) -> None:
    bot = await start_bot(today=TODAY)
    inter = await fake.slash("digest", {"days": 9})
    embed = (await fake.wait_for(inter.messages, timeout=60))[0]["embeds"][0]
    text = embed["description"]
    assert embed["title"] == "Cyber-policy news: 2021-05-12 to 2021-05-20"
    blocks = text.split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [
        "**2021-05-19** · 3 outlets",  # the paid-ransom report, its wire-copy file and the folded wire copy
        "**2021-05-18** · 1 outlet",
        "**2021-05-12** · 1 outlet",
    ]
    colonial = blocks[0]
    for url in (
        "https://example.org/policybot/colonial-pipeline-ransom-paid)",
        "https://example.org/policybot/colonial-pipeline-ransom-paid-wire-copy)",
        f"{WIRE_URL})",
    ):
        assert url in colonial
    assert "— Wire Daily, 2021-05-19" in colonial
    quote = colonial.splitlines()[1]
    assert quote.startswith("“") and quote.endswith("” [1]")
    assert quote[1:-5].replace("\\", "") in bodies(workspace)  # one sentence, verbatim
    assert "jbs" not in text.casefold() and "TSA" not in text  # published after "today"
    zenda = blocks[1]
    assert "@everyone" not in zenda and "@\u200deveryone" in zenda  # quoted, defused
    assert "\\*\\*Zenda Telecom\\*\\*" in zenda  # the title's markup shown, not applied
    assert not inter.messages()[0]["flags"] & EPHEMERAL
    assert bot.metrics.registry.get_sample_value("policybot_digests_posted_total", {"trigger": "command"}) == 1


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def posted(fake: FakeDiscord) -> list[dict[str, Any]]:
    return [
        e for m in fake.bot_messages(fake.channel["id"]) for e in m.get("embeds") or []
        if (e.get("title") or "").startswith("Weekly cyber-policy news")
    ]


async def test_a_scheduled_digest_is_posted_once_at_its_time_and_stops_when_off(
    fake: FakeDiscord, start_bot: Any, workspace: Workspace, no_pings_everywhere: None
) -> None:
    bot = await start_bot(today=TODAY)
    scheduler = SCHEDULER.of(bot)
    await scheduler.stop()  # the test runs the leader's schedule itself, at the times it chooses
    clock = Clock(datetime(2021, 5, 20, 12, 0, tzinfo=UTC))  # a Thursday
    scheduler.clock = clock

    refused = await fake.slash("digest-schedule", {"channel": fake.channel, "weekday": 4}, user=fake.bob)
    await fake.wait_for(lambda: refused.callbacks)
    assert "Only moderators" in refused.callbacks[0]["data"]["content"]
    inter = await fake.slash("digest-schedule", {"channel": fake.channel, "weekday": 4, "hour": 9}, user=fake.admin)
    reply = (await fake.wait_for(lambda: refused.callbacks and inter.callbacks))
    assert reply and "every Friday at 09:00 UTC" in inter.callbacks[0]["data"]["content"]

    assert await scheduler.run_due() == 0  # last Friday's time had passed when it was set
    clock.now = datetime(2021, 5, 21, 8, 59, tzinfo=UTC)
    assert await scheduler.run_due() == 0 and not posted(fake)
    clock.now = datetime(2021, 5, 21, 9, 0, tzinfo=UTC)
    assert await scheduler.run_due() == 1
    await fake.wait_for(lambda: posted(fake))
    clock.now = datetime(2021, 5, 21, 9, 30, tzinfo=UTC)
    assert await scheduler.run_due() == 0
    restarted = DigestScheduler(bot, clock=clock)  # a new process reads what was posted from the settings
    assert await restarted.run_due() == 0
    assert len(posted(fake)) == 1
    week = posted(fake)[0]
    assert "**2021-05-19** · 3 outlets" in week["description"]

    clock.now = datetime(2021, 5, 28, 9, 0, tzinfo=UTC)  # the next Friday
    assert await restarted.run_due() == 1 and await scheduler.run_due() == 0
    await fake.wait_for(lambda: len(posted(fake)) == 2)
    metric = bot.metrics.registry.get_sample_value
    assert metric("policybot_digests_posted_total", {"trigger": "schedule"}) == 2

    off = await fake.slash("digest-schedule", {"off": True}, user=fake.admin)
    await fake.wait_for(lambda: off.callbacks)
    assert "off" in off.callbacks[0]["data"]["content"]
    clock.now = datetime(2021, 6, 4, 9, 0, tzinfo=UTC)
    assert await scheduler.run_due() == 0 and len(posted(fake)) == 2
    actions = [e["action"] for e in bot.audit.entries()]
    assert "digest scheduled" in actions and "digest schedule off" in actions and "refused" in actions


def test_policybot_digest_prints_the_same_stories(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from bot.cli import main
    from index.cli import _digest

    monkeypatch.setattr(_digest, "Engine", lambda settings: Engine(settings, embedder=workspace.embedder))
    where = ["--data", str(workspace.data), "--corpus", str(workspace.corpus)]
    assert main(["digest", *where, "--days", "9", "--date", TODAY.isoformat()]) == 0
    text = capsys.readouterr().out
    assert text.startswith("News from 2021-05-12 to 2021-05-20: 3 stories from 4 article(s).")
    assert text.index("2021-05-19  “") < text.index("2021-05-18  “") < text.index("2021-05-12  “")
    assert f"— Wire Daily  {WIRE_URL}" in text
    assert main(["digest", *where, "--days", "9", "--date", TODAY.isoformat(), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["outlets"] for s in data["stories"]] == [3, 1, 1] and data["articles"] == 4
    assert main(["digest", *where, "--days", "40"]) == 1
    assert "days must be between 1 and 31" in capsys.readouterr().err
