"""Running in production, without Discord or the model: shard settings, the leader lock and its
fail-over, status files and ``policybot health``, the metrics endpoint, JSON logs, the builder."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import ShardedPolicyBot, create_bot
from bot.cli import main
from bot.config import BotSettings
from bot.core.metrics import Metrics, MetricsServer
from bot.ops.builder import Builder
from bot.ops.leader import LeaderLock
from bot.ops.status import FileBoard, Heartbeat, Status, read_status, status_board, status_path, write_status
from index.engine import Engine
from index.logs import setup_logging
from index.store._snapshot import segment_dirs
from index.types import Answer
from tests.support import REPO
from tests.support.articles import write_article
from tests.support.fakes import FakeEncoder


@pytest.fixture
def settings(tmp_path: Path) -> BotSettings:
    write_article(tmp_path / "corpus", "summit", "Leaders met in Geneva to discuss ransomware. They agreed to talk again.")
    return BotSettings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", instance="test-box"
    )


@pytest.fixture
def built(settings: BotSettings) -> BotSettings:
    Engine(settings, embedder=FakeEncoder()).build()
    return settings


# ---- sharding across processes -------------------------------------------------------------------
def test_shard_ids_come_from_one_comma_separated_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYBOT_SHARD_IDS", "2,3")
    monkeypatch.setenv("POLICYBOT_SHARD_COUNT", "4")
    s = BotSettings(_env_file=None)  # type: ignore[call-arg]
    assert s.shard_ids == [2, 3] and s.shard_count == 4 and s.use_sharding
    monkeypatch.delenv("POLICYBOT_SHARD_IDS")
    monkeypatch.delenv("POLICYBOT_SHARD_COUNT")
    with pytest.raises(ValueError, match="needs POLICYBOT_SHARD_COUNT"):
        BotSettings(_env_file=None, shard_ids="0")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="distinct ids below 2"):
        BotSettings(_env_file=None, shard_ids="1,2", shard_count=2)  # type: ignore[call-arg]


async def test_a_process_takes_only_its_shard_range(settings: BotSettings) -> None:
    bot = create_bot(Engine(settings, embedder=FakeEncoder()), settings.with_(shard_ids="1", shard_count=2))
    try:
        assert isinstance(bot, ShardedPolicyBot)
        assert bot.shard_ids == [1] and bot.shard_count == 2
    finally:  # never connected, so only the core's store is open (the features open theirs at start)
        bot.guild_settings.close()


# ---- the leader lock ----------------------------------------------------------------------------
def test_one_leader_per_data_folder_and_release_hands_over(tmp_path: Path) -> None:
    first, second = LeaderLock(tmp_path / "leader.lock", "a"), LeaderLock(tmp_path / "leader.lock", "b")
    assert first.try_acquire() and first.try_acquire()  # idempotent while held
    assert not second.try_acquire()
    assert first.holder() == {"pid": os.getpid(), "instance": "a", "since": pytest.approx(time.time(), abs=60)}
    first.release()
    assert second.try_acquire() and second.holder()["instance"] == "b"  # type: ignore[index]
    second.release()


def test_a_killed_leader_loses_the_lock_at_once(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from bot.ops.leader import LeaderLock;"
        f"lock = LeaderLock(Path({str(tmp_path / 'leader.lock')!r}), 'child'); assert lock.try_acquire();"
        "print('leading', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "leading"
        standby = LeaderLock(tmp_path / "leader.lock", "standby")
        assert not standby.try_acquire()
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert standby.try_acquire()  # no stale lock to clean up: the kernel dropped it
        standby.release()
    finally:
        child.kill()
        child.wait()


def test_the_builder_leads_builds_and_polls_while_a_second_one_waits(settings: BotSettings) -> None:
    engine = Engine(settings, embedder=FakeEncoder())
    leader, standby = Builder(settings, engine), Builder(settings.with_(instance="other"), engine)
    try:
        assert leader.step() == settings.feeds_poll_seconds
        assert engine.has_index()  # the first round builds the missing index
        assert standby.step() == settings.leader_retry_seconds and not standby.lock.held
        assert b"policybot_feed_polls_total 1.0" in leader.metrics.render()
        assert leader.status().leader and not standby.status().leader
        leader.lock.release()
        assert standby.step() == settings.feeds_poll_seconds and standby.lock.held  # fail-over
    finally:
        leader.lock.release()
        standby.lock.release()


# ---- status files and `policybot health` ------------------------------------------------------
def health(settings: BotSettings, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["health", "--data", str(settings.data_dir), "--instance", settings.instance, *args])
    return code, capsys.readouterr().out.strip()


def beat(settings: BotSettings, **fields: object) -> Status:
    status = Status(settings.instance, "bot", heartbeat_at=time.time(), connected=True, shard_ids=[0], shard_count=2)
    for name, value in fields.items():
        setattr(status, name, value)
    write_status(settings.status_dir, status)
    return status


def test_health_without_an_index_is_one_line_and_exit_1(
    settings: BotSettings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = health(settings, capsys=capsys)
    assert code == 1 and out.startswith("unhealthy: index: No index") and "\n" not in out


def test_health_follows_the_index_and_the_running_bot(
    built: BotSettings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = health(built, capsys=capsys)
    assert code == 0 and out.startswith("ok: index v000001") and "1 articles" in out  # no bot: index only
    beat(built)
    code, out = health(built, capsys=capsys)
    assert code == 0 and "connected" in out and "shards [0] of 2" in out
    beat(built, connected=False)
    assert health(built, capsys=capsys) == (1, "unhealthy: test-box: the Discord gateway is not connected")
    beat(built, heartbeat_at=time.time() - 600)
    code, out = health(built, capsys=capsys)
    assert code == 1 and "no heartbeat for 600 s" in out
    beat(built, pid=2**22 + 12345)  # above the default pid_max: no such process
    code, out = health(built, capsys=capsys)
    assert code == 1 and "is not running" in out
    beat(built, index_version="v000001-x")
    beat(built.with_(instance="other"), connected=False)
    code, out = health(built, "--all", capsys=capsys)
    assert code == 1 and "ok: test-box (bot" in out and "UNHEALTHY: other" in out
    assert "serving only, index v000001-x, heartbeat" in out  # which version each process serves
    manifest = next((built.data_dir / "versions").glob("v*/manifest.json"))
    damaged = next(p for p in segment_dirs(manifest.parent)[0].iterdir() if p.name != "manifest.json")
    damaged.write_bytes(damaged.read_bytes() + b"x")
    code, out = health(built, capsys=capsys)
    assert code == 1 and out.startswith("unhealthy: index:") and "corrupt" in out


def test_heartbeat_refreshes_the_file_and_removes_it_on_a_clean_stop(settings: BotSettings) -> None:
    beats: list[int] = []

    def snapshot() -> Status:
        beats.append(1)
        return Status(settings.instance, "builder", leader=True)

    hb = Heartbeat(FileBoard(settings.status_dir), snapshot, interval=0.05)
    hb.start()
    path = status_path(settings.status_dir, settings.instance)
    deadline = time.time() + 5
    while len(beats) < 3 and time.time() < deadline:
        time.sleep(0.02)
    status = read_status(path)
    assert status is not None and status.leader and status.pid == os.getpid()
    assert time.time() - status.heartbeat_at < 5
    hb.stop()
    assert not path.exists()


# ---- metrics -----------------------------------------------------------------------------------
def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_metrics_endpoint_serves_prometheus_text_and_healthz(built: BotSettings) -> None:
    engine = Engine(built, embedder=FakeEncoder())
    metrics = Metrics(engine.stats)
    answer = engine.ask("Where did leaders meet to discuss ransomware?")
    metrics.answered(answer, 0.03)
    metrics.answered(Answer(question="?", answerable=False, text="not found"), 0.2)
    metrics.polled(errors=2, articles=1)
    reason: list[str | None] = [None]
    server = MetricsServer(metrics, lambda: reason[0], "127.0.0.1", 0).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        code, text = get(f"{base}/metrics")
        assert code == 200
        for line in (
            'policybot_questions_total{kind="ask"} 2.0',
            "policybot_abstentions_total 1.0",
            "policybot_answer_seconds_bucket{le=\"0.05\"} 1.0",
            "policybot_feed_polls_total 1.0",
            "policybot_feed_errors_total 2.0",
            "policybot_index_version 1.0",
            "policybot_index_articles 1.0",
        ):
            assert line in text, line
        assert "policybot_index_chunks " in text and 'policybot_index_info{model="fake-hash"' not in text
        assert get(f"{base}/healthz") == (200, "ok\n")
        reason[0] = "index: broken"
        assert get(f"{base}/healthz") == (503, "index: broken\n")
        assert get(f"{base}/other")[0] == 404
    finally:
        server.stop()


def test_metrics_without_an_index_leave_out_the_index_gauges(settings: BotSettings) -> None:
    text = Metrics(Engine(settings, embedder=FakeEncoder()).stats).render().decode()
    assert "policybot_questions_total" in text and "policybot_index_articles" not in text


# ---- structured logs ---------------------------------------------------------------------------
def test_json_logs_are_one_object_per_line_with_secrets_redacted() -> None:
    secret = 'sEcReT"with\\quotes.abc'  # JSON would escape it: redaction must happen before encoding
    stream = io.StringIO()
    root = logging.getLogger()
    old_level, old_handlers = root.level, list(root.handlers)
    old_formatters = [h.formatter for h in old_handlers]
    handler = setup_logging("INFO", secrets=[secret], stream=stream, json_lines=True)
    try:
        log = logging.getLogger("bot.test")
        log.info("token is %s, twice: %s", secret, secret)
        try:
            raise RuntimeError(f"failure mentioning {secret}\nover two lines")
        except RuntimeError:
            log.exception("traceback with %s", secret)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for h, f in zip(old_handlers, old_formatters, strict=True):
            h.setFormatter(f)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "token is [redacted], twice: [redacted]"
    assert first["level"] == "INFO" and first["logger"] == "bot.test" and first["pid"] == os.getpid()
    assert "RuntimeError: failure mentioning [redacted]" in second["exception"]
    assert secret not in stream.getvalue() and json.dumps(secret)[1:-1] not in stream.getvalue()
    assert "sEcReT" not in stream.getvalue()


def test_log_format_setting_reaches_the_entry_point(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "POLICYBOT_LOG_FORMAT": "json", "POLICYBOT_LOG_LEVEL": "INFO"}
    env["PYTHONPATH"] = str(REPO)
    out = subprocess.run(
        [sys.executable, "-m", "bot", "health", "--data", str(tmp_path / "none")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and out.stdout.startswith("unhealthy: index:")
    records = [json.loads(line) for line in out.stderr.splitlines() if line.strip()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)


def test_health_reads_the_heartbeats_from_the_database_without_a_shared_folder(
    built: BotSettings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, postgres_url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POLICYBOT_DATABASE_URL", postgres_url)
    remote = built.with_(data_dir=tmp_path / "elsewhere", instance="remote", database_url=postgres_url)
    Engine(built.with_(database_url=postgres_url), embedder=FakeEncoder()).build()  # the live index is the database's

    def snapshot() -> Status:  # a bot on another machine: its pid means nothing here
        return Status("remote", "bot", pid=2**22 + 12345, connected=True, leader=True, host="other-machine")

    hb = Heartbeat(status_board(remote), snapshot, interval=3600)
    hb.start()
    try:
        code, out = health(built, "--all", capsys=capsys)
        assert code == 0 and "ok: remote (bot, pid 4206649 on other-machine)" in out and "leader" in out, out
        assert health(built.with_(instance="remote"), capsys=capsys)[0] == 0
        board = status_board(built.with_(database_url=postgres_url))
        board.write(replace(snapshot(), heartbeat_at=time.time() - 600))
        code, out = health(built.with_(instance="remote"), capsys=capsys)
        assert code == 1 and "no heartbeat for 600 s" in out
    finally:
        hb.stop()
    assert status_board(remote).all() == []  # a clean stop removes its row
    assert not built.status_dir.exists() and not remote.status_dir.exists()
