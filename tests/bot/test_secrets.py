"""Secrets: a full ``policybot run`` session (its own process, against the fake Discord and a hostile
fake LLM server) with ``DISCORD_TOKEN`` and ``POLICYBOT_LLM_KEY`` set; every byte it wrote — its
output, every REST payload Discord received, every file in its data folder — is scanned for both.

The LLM server is hostile on purpose: it answers the first request with an error that quotes the
key, and later ones with a "written answer" that contains the key, so the key would leak if any
error text or model output reached a log, a reply or the feedback store unfiltered.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from measure.fakediscord import FakeDiscord
from tests.bot.conftest import Workspace, child_env

pytestmark = pytest.mark.slow  # starts the real bot process with the model

LLM_KEY = "sk-policybot-test-0123456789abcdefSECRET"
QUESTION = "Who led the counter ransomware summit meeting?"


@pytest.fixture
async def hostile_llm() -> AsyncIterator[tuple[str, list[str]]]:
    """An OpenAI-compatible server on 127.0.0.1 that tries to leak the bearer key it receives."""
    seen: list[str] = []

    async def completions(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        seen.append(auth)
        key = auth.removeprefix("Bearer ")
        if len(seen) == 1:
            return web.Response(status=401, text=f"invalid api key {key}", content_type="text/plain")
        text = f"The summit was led by Anne Neuberger [1]. Your key {key} was accepted [1]."
        return web.json_response({"choices": [{"message": {"role": "assistant", "content": text}}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/v1", seen
    await runner.cleanup()


def leaks(blob: bytes | str, secrets: list[str]) -> list[str]:
    data = blob.encode() if isinstance(blob, str) else blob
    return [s for s in secrets if s.encode() in data]


async def test_token_and_llm_key_never_leave_through_logs_replies_or_files(
    fake: FakeDiscord, workspace: Workspace, tmp_path: Path, hostile_llm: tuple[str, list[str]]
) -> None:
    llm_url, llm_seen = hostile_llm
    env = child_env(
        fake,
        DISCORD_TOKEN=fake.token,
        POLICYBOT_LLM_KEY=LLM_KEY,
        POLICYBOT_LLM_URL=llm_url,
        POLICYBOT_LLM_MODEL="hostile",
        POLICYBOT_LLM_TIMEOUT="20",
        POLICYBOT_DATA=str(workspace.data),
        POLICYBOT_CORPUS=str(workspace.corpus),
        POLICYBOT_LOG_LEVEL="DEBUG",
        POLICYBOT_COOLDOWN_SECONDS="0",
    )
    script = Path(sys.executable).with_name("policybot")
    cmd = [str(script), "run"] if script.exists() else [sys.executable, "-m", "bot", "run"]
    log_path = tmp_path / "bot.log"
    with open(log_path, "wb") as log:
        proc = await asyncio.create_subprocess_exec(*cmd, cwd=tmp_path, env=env, stdout=log, stderr=log)
        try:
            await fake.wait_for(lambda: fake.commands and any(g.identified for g in fake.gateways), timeout=120)
            first = await fake.slash("ask", {"question": QUESTION})
            await fake.wait_for(lambda: len(llm_seen) >= 1 and first.messages(), timeout=90)
            second = await fake.slash("ask", {"question": QUESTION}, user=fake.bob)
            dm = await fake.user_message(QUESTION, dm=True, user=fake.rolemod)
            bad = await fake.slash("ask", {"question": "?"}, user=fake.admin)  # an error reply
            status = await fake.slash("index", {}, sub="status", user=fake.admin)
            refused = await fake.slash("index", {}, sub="status", user=fake.alice)  # a refusal, audited
            await fake.wait_for(
                lambda: second.messages() and fake.replies_to(dm) and bad.callbacks and status.messages()
                and refused.callbacks,
                timeout=90,
            )
            # let the written-answer upgrades finish (each edits its message once more)
            await fake.wait_for(lambda: len(llm_seen) >= 3, timeout=90)
            # ... and each upgrade's edit of its message has reached Discord
            await fake.wait_for(
                lambda: sum(r.method == "PATCH" and "/messages/" in r.path for r in fake.requests) >= len(llm_seen),
                timeout=90,
            )
            proc.send_signal(signal.SIGINT)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    secrets = [fake.token, LLM_KEY]
    assert all(a == f"Bearer {LLM_KEY}" for a in llm_seen)  # the key went where it belongs, and only there
    output = log_path.read_text(errors="replace")
    assert "logged in as policybot" in output
    assert not leaks(output, secrets), "a secret reached the log output"
    rest = json.dumps([{"path": r.path, "query": r.query, "body": r.body} for r in fake.requests], default=str)
    assert not leaks(rest, secrets), "a secret reached Discord (a REST payload)"
    assert not leaks(json.dumps(fake.message_payloads, default=str), secrets)
    assert "Neuberger" in second.texts()
    scanned = 0
    for path in workspace.data.rglob("*"):
        if path.is_file():
            scanned += 1
            assert not leaks(path.read_bytes(), secrets), f"a secret was stored in {path}"
    assert scanned > 5 and (workspace.data / "audit.jsonl").exists() and (workspace.data / "feedback.sqlite").exists()
    assert bad.callbacks and refused.callbacks
