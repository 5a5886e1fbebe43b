"""End to end: a mention is answered in a thread; follow-ups there are read with the earlier question."""

from __future__ import annotations

from typing import Any

import pytest

from measure.fakediscord import PERM_THREADS, FakeDiscord, pings
from tests.bot.conftest import GatedEngine

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord

FIRST = "How many countries pledged not to pay ransoms?"
MESSAGE_CONTENT = 1 << 15  # the privileged intent, switched on in the (fake) developer portal


async def ask_in_thread(fake: FakeDiscord, channel: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Alice mentions the bot in ``channel``; the thread it starts and its answer there."""
    asked = await fake.user_message(FIRST, mention_bot=True, channel=channel)
    answer = (await fake.wait_for(lambda: fake.bot_messages(asked["id"])))[0]  # a thread's id is its starter's
    return fake.channels[asked["id"]], answer


async def test_mention_starts_a_thread_and_a_follow_up_there_has_context(
    fake: FakeDiscord, start_bot: Any, engine: GatedEngine, no_pings_everywhere: None
) -> None:
    talk = fake.add_channel(fake.guild, "talk", allow_bot=PERM_THREADS)
    fake.privileged_intents = MESSAGE_CONTENT
    await start_bot(message_content=True)
    thread, answer = await ask_in_thread(fake, talk)
    assert thread["type"] == 11 and thread["parent_id"] == talk["id"] and thread["owner_id"] == fake.bot_user["id"]
    assert thread["name"] == FIRST
    assert "capitalcyber.example.net/ransomware-summit-pledge" in answer["embeds"][0]["fields"][0]["value"]
    assert fake.bot_messages(talk["id"]) == []  # nothing in the channel itself
    assert engine.calls[-1][1]["previous"] is None

    follow = await fake.user_message("and who else was there?", channel=thread)  # no mention
    reply = (await fake.wait_for(lambda: fake.replies_to(follow)))[0]
    assert reply["channel_id"] == thread["id"]
    question, kwargs = engine.calls[-1]
    assert question == "and who else was there?" and kwargs["previous"] == FIRST
    assert all(pings(p) == set() for p in fake.all_payloads())
    assert not fake.rejected and not fake.unknown_routes


async def test_messages_in_someone_elses_thread_are_ignored(
    fake: FakeDiscord, start_bot: Any, engine: GatedEngine
) -> None:
    talk = fake.add_channel(fake.guild, "talk", allow_bot=PERM_THREADS)
    fake.privileged_intents = MESSAGE_CONTENT
    await start_bot(message_content=True)
    starter = await fake.user_message("Thoughts on the summit?", channel=talk, user=fake.bob)
    theirs = await fake.start_thread(starter, "summit chat", user=fake.bob)
    ignored = await fake.user_message("and who else was there?", channel=theirs)
    await ask_in_thread(fake, talk)  # handled in order: by now the other one was seen
    assert fake.bot_messages(theirs["id"]) == [] and fake.replies_to(ignored) == []
    assert [c[0] for c in engine.calls] == [FIRST]


async def test_without_the_content_intent_a_follow_up_needs_a_mention(
    fake: FakeDiscord, start_bot: Any, engine: GatedEngine
) -> None:
    talk = fake.add_channel(fake.guild, "talk", allow_bot=PERM_THREADS)
    await start_bot()
    thread, _ = await ask_in_thread(fake, talk)
    silent = await fake.user_message("and who else was there?", channel=thread)  # text blanked by Discord
    follow = await fake.user_message("and who else was there?", channel=thread, mention_bot=True)
    await fake.wait_for(lambda: fake.replies_to(follow))
    assert fake.replies_to(silent) == []  # no "at least 3 characters" for an empty message
    assert engine.calls[-1][1]["previous"] == FIRST and len(engine.calls) == 2


async def test_the_content_intent_must_be_allowed_in_the_portal(fake: FakeDiscord, start_bot: Any) -> None:
    with pytest.raises(Exception, match="4014"):
        await start_bot(message_content=True)  # Discord refuses the connection: the setting says what to do


async def test_without_thread_permission_a_mention_gets_a_reply(fake: FakeDiscord, bot: Any) -> None:
    asked = await fake.user_message(FIRST, mention_bot=True)
    await fake.wait_for(lambda: fake.replies_to(asked))
    assert asked["id"] not in fake.channels and "thread" not in asked
