"""Unit tests of the bot's pieces that need no Discord: limits, stores, background builds, settings."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import discord
import pytest

from bot.app import PolicyBot, ShardedPolicyBot, create_bot
from bot.config import BotSettings
from bot.core.audit import AuditLog
from bot.core.permissions import home_guild_ids
from bot.core.ratelimit import ConversationMemory, Cooldown, SendGuard, Withheld, retry_timestamp
from bot.core.reindex import Reindexer, ReindexJob, ReindexRunning
from bot.features.answers.feedback import FeedbackStore
from index import check_question as clean_question
from index.errors import BuildError, QuestionError
from index.logs import RedactingFormatter
from index.types import BuildProgress, BuildReport


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_cooldown_per_user_and_retry_time() -> None:
    clock = Clock()
    cd = Cooldown(10, clock)
    assert cd.hit(1) is None
    clock.t += 4
    assert cd.hit(1) == pytest.approx(6)
    assert cd.hit(2) is None  # per user
    clock.t += 6
    assert cd.hit(1) is None
    assert Cooldown(0).hit(1) is None
    assert retry_timestamp(5.2, now=lambda: 100.0) == "<t:106:R>"


def test_conversation_memory_expires() -> None:
    clock = Clock()
    memory = ConversationMemory(60, clock)
    memory.set(7, "first question")
    assert memory.get(7) == "first question" and memory.get(8) is None
    clock.t += 61
    assert memory.get(7) is None


class Refusal:
    status = 403
    reason = "Forbidden"


async def test_send_guard_backs_off_per_channel_and_trips_after_a_budget_of_refusals() -> None:
    now = [0.0]
    guard = SendGuard(60, budget=3, window=600, clock=lambda: now[0])
    calls: list[int] = []

    async def refused(channel: int) -> None:
        calls.append(channel)
        raise discord.Forbidden(Refusal(), {"code": 50013, "message": "Missing Permissions"})  # type: ignore[arg-type]

    async def ok() -> str:
        return "sent"

    for channel in (1, 1, 2):
        with pytest.raises(Withheld):
            await guard.send(channel, lambda c=channel: refused(c))
    assert calls == [1, 2]  # the second message in channel 1 was never sent
    assert await guard.send(9, ok) == "sent"  # other channels are fine
    now[0] += 61
    with pytest.raises(Withheld):
        await guard.send(1, lambda: refused(1))  # tried again once after the window: the third refusal
    assert calls == [1, 2, 1]
    with pytest.raises(Withheld):
        await guard.send(9, ok)  # three refusals in ten minutes: nothing is posted anywhere
    now[0] += 600
    assert await guard.send(9, ok) == "sent"  # they aged out


def test_clean_question_limits() -> None:
    assert clean_question("  what   happened? ") == "what happened?"
    for bad in ("", "ab", "???", "x" * 501):
        with pytest.raises(QuestionError):
            clean_question(bad)


def test_feedback_store_round_trip(tmp_path: Path, state_url: str | None) -> None:
    store = FeedbackStore(tmp_path / "data" / "feedback.sqlite", database_url=state_url)
    rid = store.save_answer(
        question="q?",
        answer_json={"answerable": True, "answer": "It was Tuesday. [1]", "sources": [{"article_id": "a1"}]},
        user_id=1,
        guild_id=None,
        channel_id=2,
        index_version="v000007-x",
    )
    assert len(rid) == 16 and store.get_answer(rid).question == "q?"  # type: ignore[union-attr]
    assert store.vote(rid, 5, 1) and store.vote(rid, 5, -1) and store.vote(rid, 6, 1)
    assert not store.vote("0" * 16, 5, 1)
    votes = store.votes()
    assert sorted(v["vote"] for v in votes) == [-1, 1]  # user 5 changed their vote, user 6 voted once
    assert {(v["question"], v["answer"], v["index_version"], tuple(v["articles"])) for v in votes} == {
        ("q?", "It was Tuesday. [1]", "v000007-x", ("a1",))
    }
    assert all("user_id" not in v for v in votes)  # votes leave the store without who cast them
    store.close()
    again = FeedbackStore(tmp_path / "data" / "feedback.sqlite", database_url=state_url)
    assert again.get_answer(rid) is not None  # persists
    again.close()


def test_gap_questions_are_the_declined_and_downvoted_ones(tmp_path: Path, state_url: str | None) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite", database_url=state_url)
    since = time.time() - 60

    def save(question: str, answerable: bool, guild_id: int | None) -> str:
        return store.save_answer(
            question=question, answer_json={"answerable": answerable}, user_id=1, guild_id=guild_id, channel_id=2
        )

    declined = save("price of bitcoin?", False, 7)
    disliked = save("what does the CRA require?", True, 7)
    liked = save("when must agencies disconnect?", True, 7)
    elsewhere = save("who found the flaw?", False, 8)
    assert store.vote(disliked, 4, -1) and store.vote(disliked, 5, -1) and store.vote(liked, 4, 1)
    found = store.gap_questions(since)
    assert sorted((q.answer_id, q.reason) for q in found) == sorted(
        [(declined, "declined"), (disliked, "downvoted"), (elsewhere, "declined")]
    )  # two 👎 on one answer: one question; a 👍 is no gap
    assert {q.answer_id for q in store.gap_questions(since, guild_id=7)} == {declined, disliked}
    assert store.gap_questions(time.time() + 60) == []
    store.close()


def test_audit_log_appends_json_lines(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.write(action="article added", user_id=1, user="mod", guild_id=2, article="a")
    log.write(action="article removed", user_id=1, user="mod", guild_id=2, article="a")
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line)["action"] for line in lines] == ["article added", "article removed"]
    assert all("at" in json.loads(line) for line in lines)
    assert [e["article"] for e in log.entries()] == ["a", "a"]


def test_audit_log_in_the_database_is_shared_and_ordered(tmp_path: Path, postgres_url: str) -> None:
    first, second = AuditLog(tmp_path / "a" / "audit.jsonl", database_url=postgres_url), AuditLog(
        tmp_path / "b" / "audit.jsonl", database_url=postgres_url
    )
    first.write(action="article added", user_id=1, user="mod", guild_id=2**40, article="a")
    second.write(action="article removed", user_id=1, user="mod", guild_id=2, article="a")
    assert [e["action"] for e in first.entries()] == ["article added", "article removed"]  # one log, two machines
    assert first.entries()[0]["guild_id"] == 2**40 and not (tmp_path / "a").exists()  # no file written
    first.close()
    second.close()


class FakeRebuilder:
    """Stands in for Engine.build: emits progress, then returns or raises."""

    def __init__(self, steps: int = 100, fail: Exception | None = None) -> None:
        self.steps, self.fail = steps, fail
        self.go = threading.Event()
        self.calls = 0

    def build(self, *, full: bool = False, progress: Callable[[BuildProgress], None] | None = None) -> BuildReport:
        self.calls += 1
        self.go.wait(10)
        for i in range(self.steps):
            assert progress is not None
            progress(BuildProgress("embedding", i + 1, self.steps))
        if self.fail:
            raise self.fail
        return BuildReport("v2", 5, 1, 0, 0, 4, 10, 2, 0.1)


async def test_reindexer_throttles_progress_and_reports_the_end() -> None:
    engine = FakeRebuilder(steps=200)
    seen: list[tuple[bool, BuildProgress | None]] = []

    async def listener(job: ReindexJob) -> None:
        seen.append((job.finished, job.progress))

    reindexer = Reindexer(engine, interval=3600)  # at most one edit per hour, except the final one
    job = reindexer.start(full=False, requested_by="mod", listener=listener)
    with pytest.raises(ReindexRunning, match="already running"):
        reindexer.start(full=True, requested_by="other")
    engine.go.set()
    await reindexer.wait()
    assert job.ok and job.report and job.report.version == "v2"
    assert len(seen) <= 2 and seen[-1][0] is True and seen[-1][1] == BuildProgress("embedding", 200, 200)
    assert reindexer.last is job and not reindexer.running


@pytest.mark.parametrize("interval", [0, 3600])
async def test_reindexer_reports_the_end_when_it_finishes_during_a_progress_edit(interval: float) -> None:
    """Regression: a build that ended while a progress edit was in flight never got its final edit."""
    engine = FakeRebuilder(steps=1, fail=BuildError("corpus folder is gone"))
    in_flight, release = asyncio.Event(), asyncio.Event()
    seen: list[bool] = []

    async def listener(job: ReindexJob) -> None:
        seen.append(job.finished)
        if len(seen) == 1:  # the first progress edit is slow: the build ends meanwhile
            in_flight.set()
            await release.wait()

    async def until(condition: Callable[[], bool]) -> None:
        while not condition():
            await asyncio.sleep(0.01)

    reindexer = Reindexer(engine, interval=interval)
    job = reindexer.start(full=True, requested_by="mod", listener=listener)
    engine.go.set()
    await asyncio.wait_for(in_flight.wait(), 10)
    await asyncio.wait_for(until(lambda: job.finished), 10)
    release.set()
    await asyncio.wait_for(reindexer.wait(), 10)
    assert seen == [False, True] and job.error == "corpus folder is gone"


async def test_reindexer_failure_and_queued_rebuild() -> None:
    engine = FakeRebuilder(steps=1, fail=BuildError("corpus folder is gone"))
    reindexer = Reindexer(engine, interval=0)
    job = reindexer.start(full=True, requested_by="mod")
    assert reindexer.start_or_queue(requested_by="mod") is None  # queued behind the running one
    engine.go.set()
    await asyncio.wait_for(reindexer.wait(), 10)
    assert job.error == "corpus folder is gone" and not job.ok
    assert engine.calls == 2 and reindexer.last is not job and reindexer.last.full is False  # type: ignore[union-attr]


class ChangeRebuilder(FakeRebuilder):
    """Also takes ``changed`` (as Engine.build does) and records what each build was told."""

    def __init__(self) -> None:
        super().__init__(steps=1)
        self.changed: list[list[Path] | None] = []

    def build(  # type: ignore[override]
        self,
        *,
        full: bool = False,
        progress: Callable[[BuildProgress], None] | None = None,
        changed: list[Path] | None = None,
    ) -> BuildReport:
        self.changed.append(changed)
        return super().build(full=full, progress=progress)


async def test_queued_changes_build_from_all_their_files_or_walk() -> None:
    engine = ChangeRebuilder()
    reindexer = Reindexer(engine, interval=0)  # type: ignore[arg-type]
    reindexer.start_or_queue(requested_by="mod", changed=[Path("a.md")])
    reindexer.start_or_queue(requested_by="mod", changed=[Path("b.md")])
    reindexer.start_or_queue(requested_by="mod", changed=[Path("c.md")])
    engine.go.set()
    await asyncio.wait_for(reindexer.wait(), 10)
    assert engine.changed == [[Path("a.md")], [Path("b.md"), Path("c.md")]]
    engine.go.clear()
    reindexer.start_or_queue(requested_by="mod", changed=[Path("d.md")])
    reindexer.start_or_queue(requested_by="mod", changed=[Path("e.md")])
    reindexer.start_or_queue(requested_by="mod")  # a change that did not say which files: compare all
    engine.go.set()
    await asyncio.wait_for(reindexer.wait(), 10)
    assert engine.changed[2:] == [[Path("d.md")], None]


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("POLICYBOT_MODERATOR_ROLE=Mods\nPOLICYBOT_COOLDOWN_SECONDS=3\n")
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token-value")
    monkeypatch.setenv("POLICYBOT_MAX_CONCURRENT", "2")
    monkeypatch.setenv("POLICYBOT_DEV_GUILD", "123")
    monkeypatch.setenv("POLICYBOT_SHARDED", "true")
    s = BotSettings()
    assert s.token() == "secret-token-value" and "secret-token-value" not in repr(s)
    assert (s.moderator_role, s.cooldown_seconds, s.max_concurrent, s.dev_guild) == ("Mods", 3, 2, 123)
    assert s.use_sharding and s.feedback_db == Path("data/feedback.sqlite")


@pytest.mark.parametrize(
    ("value", "expected"), [("111, 222", [111, 222]), ("[333]", [333]), ("444", [444]), ("", None), (" , ", None)]
)
def test_home_guilds_come_from_one_comma_separated_setting(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[int] | None
) -> None:
    monkeypatch.setenv("POLICYBOT_HOME_GUILDS", value)
    assert BotSettings(_env_file=None).home_guilds == expected  # type: ignore[call-arg]


@pytest.mark.parametrize("value", ["abc", "12,x", "1.5", "-3", "²"])
def test_a_home_guild_that_is_not_an_id_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("POLICYBOT_HOME_GUILDS", value)
    with pytest.raises(ValueError, match="POLICYBOT_HOME_GUILDS must be numbers separated by commas"):
        BotSettings(_env_file=None)  # type: ignore[call-arg]


def test_home_guilds_when_unset_are_the_only_guild_or_none() -> None:
    assert home_guild_ids([5], [1, 2], sees_all=False) == {5}  # configured: whatever the bot sees
    assert home_guild_ids(None, [1], sees_all=True) == {1}
    assert home_guild_ids(None, [1, 2], sees_all=True) is None
    assert home_guild_ids(None, [1], sees_all=False) is None  # a process with some shards cannot tell
    assert home_guild_ids(None, [], sees_all=True) is None


def test_factory_picks_plain_or_sharded(tmp_path: Path) -> None:
    plain = create_bot(object(), BotSettings(_env_file=None, data_dir=tmp_path))  # type: ignore[call-arg]
    sharded = create_bot(object(), BotSettings(_env_file=None, data_dir=tmp_path, shard_count=3))  # type: ignore[call-arg]
    assert type(plain) is PolicyBot and isinstance(sharded, ShardedPolicyBot) and sharded.shard_count == 3
    assert plain.allowed_mentions is not None and plain.allowed_mentions.to_dict() == {"parse": []}
    plain.guild_settings.close()  # the features' stores open only when the bot starts
    sharded.guild_settings.close()


def test_redacting_formatter_hides_secrets_in_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(message)s", ["tok.en.123"]))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    try:
        logger.warning("token=%s", "tok.en.123")
        try:
            raise ValueError("bad tok.en.123")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert "tok.en.123" not in stream.getvalue() and stream.getvalue().count("[redacted]") >= 2


def test_cli_has_run_and_engine_commands() -> None:
    from bot.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["run", "--data", "d", "--sharded"])
    assert args.command == "run" and args.data == "d" and args.sharded
    assert parser.parse_args(["stats"]).command == "stats"


async def test_engine_work_is_bounded_and_off_the_loop(tmp_path: Path) -> None:
    import time as _time

    bot = create_bot(object(), BotSettings(_env_file=None, data_dir=tmp_path, max_concurrent=2))  # type: ignore[call-arg]
    lock = threading.Lock()
    running, peak = 0, 0
    loop_thread = threading.get_ident()
    gate = threading.Event()

    def work() -> int:
        nonlocal running, peak
        assert threading.get_ident() != loop_thread  # never on the event loop's thread
        with lock:
            running += 1
            peak = max(peak, running)
        gate.wait(5)
        _time.sleep(0.01)
        with lock:
            running -= 1
        return 1

    tasks = [asyncio.create_task(bot.in_worker(work)) for _ in range(6)]
    while running < 2:  # wait (no fixed sleep) until two are inside, held by the gate
        await asyncio.sleep(0.005)
    gate.set()
    assert sum(await asyncio.gather(*tasks)) == 6
    assert peak <= 2
    bot.guild_settings.close()
