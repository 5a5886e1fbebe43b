"""End to end: the "Ask policybot about this" message menu, answered like /ask."""

from __future__ import annotations

from typing import Any

import pytest

from bot.features.answers.commands import ASK_ABOUT
from measure.fakediscord import EPHEMERAL, FakeDiscord, pings
from tests.bot.conftest import GatedEngine

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord


def components(msg: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in msg.get("components") or [] for c in row["components"]]


async def test_menu_is_synced_as_a_message_command_everywhere(fake: FakeDiscord, bot: Any) -> None:
    command, _ = fake.command(ASK_ABOUT)
    assert command["type"] == 3 and command["description"] == ""
    assert sorted(command["contexts"]) == [0, 1, 2] and sorted(command["integration_types"]) == [0, 1]


async def test_menu_answers_the_selected_message_with_sources_and_buttons(
    fake: FakeDiscord, bot: Any, engine: GatedEngine, no_pings_everywhere: None
) -> None:
    said = await fake.user_message("When must agencies disconnect Ivanti VPN appliances? <@&123> @everyone", user=fake.bob)
    inter = await fake.message_menu(ASK_ABOUT, said)
    msg = (await fake.wait_for(inter.messages))[0]
    assert inter.callbacks[0]["type"] == 5  # deferred: "thinking…"
    assert not msg["flags"] & EPHEMERAL
    assert engine.calls[-1][0].startswith("When must agencies disconnect Ivanti VPN appliances?")
    assert inter.payload["member"]["user"]["id"] == fake.alice["id"]  # asked by alice, about bob's message
    embed = msg["embeds"][0]
    assert "February 2, 2024" in embed["description"]
    assert "news.example.org/2024/02/cisa-ivanti" in embed["fields"][0]["value"]
    ids = components(msg)
    assert ids[0].startswith("pb:src:") and ids[1].endswith(":up") and ids[2].endswith(":down")
    assert all(pings(p) == set() for p in fake.all_payloads())
    assert not fake.rejected and not fake.unknown_routes


async def test_long_message_asks_its_first_sentences(fake: FakeDiscord, bot: Any, engine: GatedEngine) -> None:
    first = "What fines does the Cyber Resilience Act set?"
    said = await fake.user_message(first + " " + "Some background on the law follows here. " * 20, user=fake.bob)
    inter = await fake.message_menu(ASK_ABOUT, said)
    await fake.wait_for(inter.messages)
    question = engine.calls[-1][0]
    assert question.startswith(first) and len(question) <= 500 and question.endswith(".")
    assert "policywire.example.com/eu-cra-adopted" in inter.texts()


async def test_menu_on_a_message_without_text_explains_privately(
    fake: FakeDiscord, bot: Any, engine: GatedEngine
) -> None:
    said = await fake.user_message("?!", user=fake.bob)
    inter = await fake.message_menu(ASK_ABOUT, said)
    await fake.wait_for(lambda: inter.callbacks)
    assert "at least 3 characters" in inter.callbacks[0]["data"]["content"]
    assert inter.callbacks[0]["data"]["flags"] & EPHEMERAL and not inter.deferred
    assert engine.calls == []


async def test_menu_in_a_dm_answers_there(fake: FakeDiscord, bot: Any) -> None:
    said = await fake.user_message("Who led the counter ransomware summit meeting?", dm=True)
    await fake.wait_for(lambda: fake.replies_to(said))  # the DM itself is answered as usual
    inter = await fake.message_menu(ASK_ABOUT, said)
    await fake.wait_for(inter.messages)
    assert "guild_id" not in inter.payload and inter.payload["context"] == 1
    assert "Neuberger" in inter.texts()
