"""Every channel message and edit goes through the send guard, so a channel that refuses the bot is
left alone; interaction answers skip the guard but still ping nobody.

The behavioural tests drive the two paths that used to bypass the guard (the reindex report posted in
the channel when the interaction token expired, and the edit of a mention's answer into the written
one) in the fake Discord; the static test lists every interaction answer in ``bot/`` and checks it
passes ``allowed_mentions``.
"""

from __future__ import annotations

import ast
import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.app import PolicyBotMixin
from bot.core import typing_indicator
from measure.fakediscord import FakeDiscord
from tests.bot.conftest import GatedEngine, StartBot, Workspace
from tests.support import REPO
from tests.support.fake_llm import FakeLLM, Reply

QUESTION = "When must agencies disconnect Ivanti VPN appliances?"
WRITTEN_ANSWER = "Agencies must disconnect the Ivanti Connect Secure VPN appliances by February 2, 2024 [1]."


def spy_refusals(bot: PolicyBotMixin, monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Set once Discord's refusal reached the bot's (real) send guard."""
    told = asyncio.Event()
    real = bot.send_guard.refused

    def refused(channel_id: int, error: discord.HTTPException) -> None:
        real(channel_id, error)
        told.set()

    monkeypatch.setattr(bot.send_guard, "refused", refused)
    return told


@pytest.mark.slow  # the real engine and model behind the fake Discord
async def test_the_reindex_report_posted_in_the_channel_goes_through_the_send_guard(
    fake: FakeDiscord, bot: Any, engine: GatedEngine, no_pings_everywhere: None
) -> None:
    cid = fake.channel["id"]
    engine.gate_stage = "reading"
    inter = await fake.slash("index", {}, sub="reindex", user=fake.admin)
    await fake.wait_for(lambda: inter.callbacks)
    assert await asyncio.to_thread(engine.reached.wait, 30)
    fake.time_offset += 15 * 60 + 1  # the token expired, so the report falls back to the channel…
    fake.deny(cid)  # …which refuses the bot
    engine.release.set()
    await bot.reindexer.wait()  # the build and its listeners, the final report included

    posts = [r for r in fake.requests if r.method == "POST" and r.path == f"/channels/{cid}/messages"]
    assert len(posts) == 1  # the report was tried once, through the guard…
    assert not bot.send_guard.allowed(int(cid))  # …which now leaves that channel alone
    assert [e["action"] for e in bot.audit.entries()][-1] == "reindex finished"  # the outcome is kept there


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.mark.slow
async def test_the_edit_into_the_written_answer_goes_through_the_send_guard(
    fake: FakeDiscord,
    start_bot: StartBot,
    workspace: Workspace,
    llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    no_pings_everywhere: None,
) -> None:
    llm_settings = {"llm_url": llm.url, "llm_model": "fake", "llm_timeout": 10}
    engine = GatedEngine(workspace.settings().with_(**llm_settings), embedder=workspace.embedder)
    bot = await start_bot(engine_=engine, **llm_settings)
    told = spy_refusals(bot, monkeypatch)
    go = threading.Event()

    def held(body: dict[str, Any]) -> Reply:  # runs in the fake model's own thread
        go.wait(30)
        return Reply(WRITTEN_ANSWER)

    llm.reply = held
    try:
        question = await fake.user_message(QUESTION, dm=True)
        (answer,) = await fake.wait_for(lambda: fake.replies_to(question), timeout=60)  # the quoted one, at once
        cid = answer["channel_id"]
        fake.hide(cid)  # the bot loses the channel before the written answer is ready
    finally:
        go.set()
    await asyncio.wait_for(told.wait(), 30)  # a bound on a hang: the unguarded edit never tells the guard

    edits = [r for r in fake.requests if r.method == "PATCH" and r.path == f"/channels/{cid}/messages/{answer['id']}"]
    assert len(edits) == 1
    assert not bot.send_guard.allowed(int(cid))


@pytest.mark.slow
async def test_a_refused_typing_repeat_makes_the_guard_back_off(
    fake: FakeDiscord, bot: Any, monkeypatch: pytest.MonkeyPatch, no_pings_everywhere: None
) -> None:
    """discord.py's typing() repeated behind the guard: a 403 on a repeat went unnoticed. Now every
    repeat goes through the guard, the first refusal stops the repeats, and the answer is withheld."""
    monkeypatch.setattr(typing_indicator, "TYPING_EVERY", 0.05)
    told = spy_refusals(bot, monkeypatch)
    gate = threading.Event()
    real_ask = bot.engine.ask

    def held(question: str, **kwargs: Any) -> Any:  # runs in a worker thread, while the bot types
        gate.wait(30)
        return real_ask(question, **kwargs)

    monkeypatch.setattr(bot.engine, "ask", held)
    cid = fake.channel["id"]

    def requests_to(path: str) -> int:
        return sum(1 for r in fake.requests if r.method == "POST" and r.path == path)

    try:
        await fake.user_message(QUESTION, mention_bot=True)
        await fake.wait_for(lambda: fake.typing)  # the first typing request went through
        fake.deny(cid)  # the bot loses Send Messages while it prepares the answer
        typed = requests_to(f"/channels/{cid}/typing")
        await asyncio.wait_for(told.wait(), 30)  # a bound on a hang: an unguarded repeat never tells the guard
    finally:
        gate.set()
    await fake.wait_for(lambda: withheld(bot) == 1, timeout=60)  # the answer was not even tried

    assert requests_to(f"/channels/{cid}/typing") == typed + 1  # one refused repeat, then no more
    assert requests_to(f"/channels/{cid}/messages") == 0
    assert not bot.send_guard.allowed(int(cid))


def withheld(bot: Any) -> float:
    return bot.metrics.registry.get_sample_value("policybot_replies_withheld_total") or 0.0


INTERACTION_ANSWERS = {"send_message", "send", "edit_original_response", "edit"}


def interaction_answers(tree: ast.Module) -> Iterator[ast.Call]:
    """Calls like ``interaction.response.send_message(…)``, ``interaction.followup.send(…)`` and
    ``interaction.edit_original_response(…)``: the answers that ride the interaction's token."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = ast.unparse(node.func.value).split(".")
        if node.func.attr in INTERACTION_ANSWERS and "interaction" in receiver:
            yield node


def test_every_interaction_answer_pings_nobody() -> None:
    found: list[str] = []
    missing: list[str] = []
    for path in sorted((REPO / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for call in interaction_answers(tree):
            where = f"{Path(path).relative_to(REPO)}:{call.lineno}"
            found.append(where)
            mentions = [k for k in call.keywords if k.arg == "allowed_mentions"]
            if not mentions or ast.unparse(mentions[0].value) != "NO_PINGS":
                missing.append(where)
    assert len(found) > 20  # the scan sees the answers (a renamed variable would hide them all)
    assert missing == []
