"""The leader lock in PostgreSQL (``POLICYBOT_DATABASE_URL``): one holder per database, whatever the
data folders; the session's end (release, a cut connection, a killed process) hands it over, and a
holder whose connection was cut knows it no longer leads."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from bot.app import create_bot
from bot.config import BotSettings
from bot.ops.builder import Builder
from bot.ops.leader import DatabaseLeaderLock, LeaderLock, leader_lock
from index.engine import Engine
from tests.support import REPO
from tests.support.articles import write_article
from tests.support.fakes import FakeEncoder


def until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Whether ``condition`` came true within ``timeout`` (asked again on each short wait)."""
    deadline, wake = time.monotonic() + timeout, threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            return False
        wake.wait(0.05)
    return True


def backend_pid(lock: DatabaseLeaderLock) -> int:
    return int(lock._lock.connection.info.backend_pid)


def test_one_leader_per_database_and_release_hands_over(postgres_url: str) -> None:
    first, second = DatabaseLeaderLock(postgres_url, "a"), DatabaseLeaderLock(postgres_url, "b")
    try:
        assert first.try_acquire() and first.try_acquire()  # idempotent while held
        assert first.held and not second.try_acquire() and not second.held
        holder = first.holder()
        assert holder is not None and holder["instance"] == "a" and holder["pid"] == os.getpid() and holder["held"]
        first.release()
        assert not first.held
        assert second.holder()["held"] is False  # type: ignore[index]  # the row stays; nobody holds the lock
        assert second.try_acquire() and second.holder()["instance"] == "b"  # type: ignore[index]
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()


def test_a_cut_connection_ends_the_lead_and_a_standby_takes_over(postgres_url: str) -> None:
    leader, standby = DatabaseLeaderLock(postgres_url, "leader"), DatabaseLeaderLock(postgres_url, "standby")
    try:
        assert leader.try_acquire() and not standby.try_acquire()
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid(leader),))
        assert not leader.held  # it notices: its session is gone, so is the lock
        assert until(standby.try_acquire)
        assert standby.held and not leader.try_acquire()  # and it cannot take it back while the standby leads
    finally:
        leader.release()
        standby.release()


def test_a_killed_leader_process_loses_the_lock(postgres_url: str) -> None:
    code = (
        "import sys, time; from bot.ops.leader import DatabaseLeaderLock;"
        f"lock = DatabaseLeaderLock({postgres_url!r}, 'child'); assert lock.try_acquire();"
        "print('leading', flush=True); sys.stdin.read()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    standby = DatabaseLeaderLock(postgres_url, "standby")
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "leading"
        assert not standby.try_acquire()
        assert standby.holder()["instance"] == "child"  # type: ignore[index]
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert until(standby.try_acquire)  # PostgreSQL ended the dead session and freed its lock
        assert standby.holder()["instance"] == "standby"  # type: ignore[index]
    finally:
        standby.release()
        child.kill()
        child.wait()


def test_settings_choose_the_lock_and_builders_in_two_folders_share_it(tmp_path: Path, postgres_url: str) -> None:
    write_article(tmp_path / "corpus", "summit", "Leaders met in Geneva to discuss ransomware. They agreed to talk again.")
    base = BotSettings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "one", corpus_dir=tmp_path / "corpus", instance="one"
    )
    assert isinstance(leader_lock(base), LeaderLock)  # no database: the data folder's file
    shared = base.with_(database_url=postgres_url)
    other = shared.with_(data_dir=tmp_path / "two", instance="two")
    first, second = Builder(shared, Engine(shared, embedder=FakeEncoder())), Builder(other, Engine(other, embedder=FakeEncoder()))
    try:
        assert isinstance(first.lock, DatabaseLeaderLock)
        assert first.step() == shared.feeds_poll_seconds and first.status().leader
        assert second.step() == other.leader_retry_seconds and not second.status().leader  # another folder, same lock
        assert not (tmp_path / "one" / "leader.lock").exists()
        first.lock.release()
        assert second.step() == other.feeds_poll_seconds and second.status().leader
    finally:
        first.lock.release()
        second.lock.release()


async def test_a_bot_that_loses_its_session_stops_leading_and_leads_again_when_free(
    tmp_path: Path, postgres_url: str
) -> None:
    settings = BotSettings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", instance="bot",
        database_url=postgres_url, leader_retry_seconds=0.05,
    )
    bot = create_bot(Engine(settings, embedder=FakeEncoder()), settings)
    changed, calls = asyncio.Event(), []

    class Poller:  # stands in for the feed poll, the digest and the alerts
        def start(self) -> None:
            calls.append("start")
            changed.set()

        async def stop(self) -> None:
            calls.append("stop")
            changed.set()

    async def next_change() -> None:
        await asyncio.wait_for(changed.wait(), 30)
        changed.clear()

    bot.hooks.while_leading(Poller())
    standby = DatabaseLeaderLock(postgres_url, "standby")
    assert isinstance(bot.leader, DatabaseLeaderLock) and await asyncio.to_thread(bot.leader.try_acquire)
    bot._start_leading()
    await next_change()
    keeper: asyncio.Task[None] | None = None
    try:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid(bot.leader),))
        assert await asyncio.to_thread(until, standby.try_acquire)  # the standby takes over
        keeper = asyncio.create_task(bot._keep_leading())  # the bot's next check finds its session gone
        await next_change()
        assert calls == ["start", "stop"] and bot.metrics.leader._value.get() == 0  # type: ignore[attr-defined]
        standby.release()
        await next_change()  # free again: the bot's next retry takes it
        assert calls == ["start", "stop", "start"] and bot.leader.held
    finally:
        if keeper is not None:
            keeper.cancel()
        standby.release()
        bot.leader.release()
        bot.guild_settings.close()
        bot.audit.close()


def test_processes_starting_together_elect_exactly_one_leader(postgres_url: str) -> None:
    code = (
        "import sys; from bot.ops.leader import DatabaseLeaderLock;"
        f"lock = DatabaseLeaderLock({postgres_url!r}, sys.argv[1]);"
        "print('lead' if lock.try_acquire() else 'wait', flush=True); sys.stdin.read()"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, f"p{n}"], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for n in range(3)
    ]
    try:
        said = [child.stdout.readline().strip() for child in children if child.stdout is not None]
        assert sorted(said) == ["lead", "wait", "wait"]
        leader = children[said.index("lead")]
        assert DatabaseLeaderLock(postgres_url, "x").holder()["instance"] == f"p{said.index('lead')}"  # type: ignore[index]
        leader.communicate("")  # a clean exit: the session ends, the lock is free
        assert until(DatabaseLeaderLock(postgres_url, "next").try_acquire)
    finally:
        for child in children:
            child.kill()
            child.wait()



def test_the_holders_connection_watches_for_a_vanished_peer(postgres_url: str) -> None:
    """Keepalives on the lock's connection: without them a holder whose host vanished keeps the lock
    until the kernel gives up on the connection (hours)."""
    from index.database import AdvisoryLock

    lock = AdvisoryLock(postgres_url, "leader-keepalive")
    assert lock.try_acquire()
    try:
        given = lock.connection.info.get_parameters()
        assert given.get("keepalives") == "1" and given.get("keepalives_idle") == "10"
        for name in ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count"):
            # set for the session (over a Unix socket the server ignores them and shows 0)
            assert lock.connection.execute(f"SELECT current_setting('{name}')").fetchone()[0] in {"0", "10", "5", "3"}
    finally:
        lock.release()
