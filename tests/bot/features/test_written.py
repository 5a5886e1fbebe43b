"""End to end: /ask sends the quoted answer at once, then edits it into the checked written one;
a failed check leaves the quoted answer; /settings answers:… switches it per guild (moderators)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.features.answers.written import WRITING, WRITTEN
from measure.fakediscord import EPHEMERAL, FakeDiscord
from tests.bot.conftest import GatedEngine, StartBot, Workspace
from tests.support.fake_llm import FakeLLM, Reply

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord

QUESTION = "When must agencies disconnect Ivanti VPN appliances?"
GOOD = "Agencies must disconnect the Ivanti Connect Secure VPN appliances by February 2, 2024 [1]."


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
async def writing_bot(start_bot: StartBot, workspace: Workspace, llm: FakeLLM) -> Any:
    """The bot with a language model configured (the fake one on 127.0.0.1)."""
    llm_settings = {"llm_url": llm.url, "llm_model": "fake", "llm_timeout": 10}
    engine = GatedEngine(workspace.settings().with_(**llm_settings), embedder=workspace.embedder)
    return await start_bot(engine_=engine, **llm_settings)


def footer(msg: dict[str, Any]) -> str:
    return str((msg["embeds"][-1].get("footer") or {}).get("text") or "")


def sent_payloads(fake: FakeDiscord, msg: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in fake.message_payloads[msg["id"]] if p.get("embeds")]


async def test_ask_sends_quoted_then_edits_into_the_written_answer(
    fake: FakeDiscord, writing_bot: Any, llm: FakeLLM, no_pings_everywhere: None
) -> None:
    llm.reply = Reply(GOOD)
    inter = await fake.slash("ask", {"question": QUESTION})
    (msg,) = await fake.wait_for(inter.messages)
    await fake.wait_for(lambda: footer(msg) == WRITTEN)
    first, *_, last = sent_payloads(fake, msg)
    assert footer(first) == WRITING and "disconnect Ivanti Connect Secure VPN" in first["embeds"][0]["description"]
    assert last["embeds"][0]["description"].startswith("Agencies must disconnect the Ivanti")
    assert "news.example.org/2024/02/cisa-ivanti" in last["embeds"][0]["fields"][0]["value"]
    assert len(inter.messages()) == 1 and not fake.rejected

    click = await fake.click(msg, msg["components"][0]["components"][0]["custom_id"])
    await fake.wait_for(lambda: click.callbacks)
    quote = click.callbacks[0]["data"]["embeds"][0]["fields"][0]["value"]
    assert "ordered federal civilian agencies to disconnect" in quote  # the Sources button: the quotes
    (record,) = [writing_bot.feedback.get_answer(r) for r in _record_ids(writing_bot)]
    assert record.answer["generated"] and record.answer["quoted"] == plain(first["embeds"][0]["description"])
    assert outcomes(writing_bot) == {"passed": 1, "fallback": 0, "error": 0}


def outcomes(bot: Any) -> dict[str, float | None]:
    value = bot.metrics.registry.get_sample_value
    return {o: value("policybot_written_answers_total", {"outcome": o}) for o in ("passed", "fallback", "error")}


def plain(markdown: str) -> str:
    return markdown.replace("**", "").replace("\\", "")


def _record_ids(bot: Any) -> list[str]:
    return [row[0] for row in bot.feedback._db.execute("SELECT id FROM answers").fetchall()]


async def test_a_failed_check_leaves_the_quoted_answer(fake: FakeDiscord, writing_bot: Any, llm: FakeLLM) -> None:
    llm.reply = Reply("Agencies must disconnect the appliances within 48 hours [1].")
    inter = await fake.slash("ask", {"question": QUESTION})
    (msg,) = await fake.wait_for(inter.messages)
    await fake.wait_for(lambda: len(sent_payloads(fake, msg)) >= 2)
    first, last = sent_payloads(fake, msg)
    assert footer(first) == WRITING and footer(msg) == ""
    assert last["embeds"][0]["description"] == first["embeds"][0]["description"]
    assert "48 hours" not in inter.texts() and len(llm.requests) == 1
    assert outcomes(writing_bot) == {"passed": 0, "fallback": 1, "error": 0}


async def test_settings_switch_per_guild_for_moderators_only(
    fake: FakeDiscord, writing_bot: Any, llm: FakeLLM
) -> None:
    refused = await fake.slash("settings", {"answers": "quoted"}, user=fake.alice)
    await fake.wait_for(lambda: refused.callbacks)
    assert "Only moderators" in refused.callbacks[0]["data"]["content"]
    assert refused.callbacks[0]["data"]["flags"] & EPHEMERAL
    changed = await fake.slash("settings", {"answers": "quoted"}, user=fake.admin)
    await fake.wait_for(lambda: changed.callbacks)
    assert "**quoted**" in changed.callbacks[0]["data"]["content"]
    actions = [(e["action"], e["user_id"]) for e in writing_bot.audit.entries()]
    assert actions == [("refused", int(fake.alice["id"])), ("setting changed", int(fake.admin["id"]))]

    llm.reply = Reply(GOOD)
    inter = await fake.slash("ask", {"question": QUESTION})
    (msg,) = await fake.wait_for(inter.messages)
    assert footer(msg) == "" and llm.requests == []
    dm = await fake.slash("ask", {"question": QUESTION}, dm=True)  # DMs follow POLICYBOT_ANSWERS
    (reply,) = await fake.wait_for(dm.messages)
    await fake.wait_for(lambda: footer(reply) == WRITTEN)
    assert len(llm.requests) == 1
