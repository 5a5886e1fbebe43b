"""End to end: direct messages (with follow-ups) and mentions, and never answering bots."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from measure.fakediscord import APP_ID, FakeDiscord, pings
from tests.bot.conftest import GatedEngine

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord


async def test_dm_question_and_follow_up(
    fake: FakeDiscord, bot: Any, engine: GatedEngine, no_pings_everywhere: None
) -> None:
    first = await fake.user_message("How many countries pledged not to pay ransoms?", dm=True)
    reply = (await fake.wait_for(lambda: fake.replies_to(first)))[0]
    assert fake.typing == [first["channel_id"]]  # the typing indicator, in the DM
    assert "guild_id" not in reply
    assert "capitalcyber.example.net/ransomware-summit-pledge" in reply["embeds"][0]["fields"][0]["value"]

    follow = await fake.user_message("and who else was there?", dm=True)
    reply2 = (await fake.wait_for(lambda: fake.replies_to(follow)))[0]
    question, kwargs = engine.calls[-1]
    assert question == "and who else was there?"
    assert kwargs["previous"] == "How many countries pledged not to pay ransoms?"
    assert kwargs["asked_on"] == datetime.now(UTC).date()  # the message's own time
    assert "ransomware-summit-pledge" in reply2["embeds"][0]["fields"][0]["value"]
    # Discord echoes the bot's own replies back; they must not be answered (no reply loop).
    assert len(fake.bot_messages(first["channel_id"])) == 2


async def test_dm_memory_is_per_channel_and_expires(fake: FakeDiscord, start_bot: Any, engine: GatedEngine) -> None:
    await start_bot(dm_memory_seconds=0)
    first = await fake.user_message("How many countries pledged not to pay ransoms?", dm=True)
    await fake.wait_for(lambda: fake.replies_to(first))
    other = await fake.user_message("and who else was there?", dm=True, user=fake.bob)
    await fake.wait_for(lambda: fake.replies_to(other))
    assert engine.calls[-1][1]["previous"] is None  # bob's DM never saw alice's question
    follow = await fake.user_message("and who else was there?", dm=True)
    await fake.wait_for(lambda: fake.replies_to(follow))
    assert engine.calls[-1][1]["previous"] is None  # expired


async def test_mention_in_a_channel_is_answered_in_a_reply(
    fake: FakeDiscord, bot: Any, no_pings_everywhere: None
) -> None:
    ignored = await fake.user_message("When must agencies disconnect Ivanti VPN appliances?")
    asked = await fake.user_message("When must agencies disconnect Ivanti VPN appliances?", mention_bot=True)
    reply = (await fake.wait_for(lambda: fake.replies_to(asked)))[0]
    assert reply["guild_id"] == fake.guild["id"]
    assert "February 2, 2024" in reply["embeds"][0]["description"]
    payload = fake.message_payloads[reply["id"]][0]
    assert pings(payload) == set() and payload["allowed_mentions"].get("replied_user") is False
    # Messages are handled in order, so by now the un-mentioned one was seen and ignored.
    assert fake.replies_to(ignored) == []


async def test_bots_are_never_answered(fake: FakeDiscord, bot: Any) -> None:
    from_bot = await fake.user_message(
        "When was the Cyber Resilience Act adopted?", user=fake.other_bot, mention_bot=True
    )
    from_user = await fake.user_message("When was the Cyber Resilience Act adopted?", mention_bot=True)
    await fake.wait_for(lambda: fake.replies_to(from_user))
    assert fake.replies_to(from_bot) == []
    assert f"<@{APP_ID}>" in from_bot["content"]


async def test_bad_dm_gets_a_short_explanation(fake: FakeDiscord, bot: Any) -> None:
    msg = await fake.user_message("?!", dm=True)
    reply = (await fake.wait_for(lambda: fake.replies_to(msg)))[0]
    assert "at least 3 characters" in reply["content"]
    assert pings(fake.message_payloads[reply["id"]][0]) == set()
