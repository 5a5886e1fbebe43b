"""End to end: a moderator follows a local feed, the background poll indexes and announces the new
article without pings, a user's watch gets a DM, and /ask answers from the article with its URL."""

from __future__ import annotations

from typing import Any

import pytest

from measure.fakediscord import EPHEMERAL, FakeDiscord
from tests.bot.conftest import Workspace

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord


def embeds_titled(messages: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [e for m in messages for e in m.get("embeds") or [] if (e.get("title") or "").startswith(prefix)]


async def test_feed_is_polled_announced_watched_and_answerable(
    fake: FakeDiscord, start_bot: Any, news_site: str, workspace: Workspace, no_pings_everywhere: None
) -> None:
    bot = await start_bot(feeds_poll_seconds=3600)  # polls only at start and when /feeds add wakes it
    url = f"{news_site}/news/zenda-fine"

    watch = await fake.slash("watch", {"query": "Zenda Telecom fined for a late data breach report"}, sub="add")
    reply = (await fake.wait_for(watch.messages))[0]
    assert "Watching #1" in reply["content"] and reply["flags"] & EPHEMERAL

    refused = await fake.slash("feeds", {"url": f"{news_site}/feed.xml"}, sub="add", user=fake.bob)
    await fake.wait_for(lambda: refused.callbacks)
    assert "Only moderators" in refused.callbacks[0]["data"]["content"]

    announce = await fake.slash("feeds", {"channel": fake.channel}, sub="announce", user=fake.admin)
    assert "will be posted in" in (await fake.wait_for(announce.messages))[0]["content"]
    add = await fake.slash(
        "feeds", {"url": f"{news_site}/feed.xml", "name": "Ruritania Wire"}, sub="add", user=fake.rolemod
    )
    assert "Following **Ruritania Wire**" in (await fake.wait_for(add.messages))[0]["content"]

    posted = await fake.wait_for(
        lambda: embeds_titled(fake.bot_messages(fake.channel["id"]), "1 new article"), timeout=120
    )
    text = posted[0]["description"]
    assert f"({url})" in text and "Ruritania Wire, 2024-06-12" in text
    assert "fined Zenda Telecom 2.4 million euros" in text and "@everyone" not in text  # lead, defused

    dm_channel = fake.dm_channel(fake.alice)["id"]
    dms = await fake.wait_for(lambda: embeds_titled(fake.bot_messages(dm_channel), "New articles for your watches"))
    assert len(dms) == 1 and url in str(dms[0]["fields"])
    assert not fake.bot_messages(fake.dm_channel(fake.bob)["id"])  # bob watches nothing

    ask = await fake.slash("ask", {"question": "How much was Zenda Telecom fined?"})
    await fake.wait_for(ask.messages, timeout=60)
    assert "2.4 million" in ask.texts() and f"]({url})" in ask.texts()

    listed = await fake.slash("feeds", sub="list", user=fake.admin)
    shown = (await fake.wait_for(listed.messages))[0]["embeds"][0]
    assert "Ruritania Wire" in shown["description"] and "articles added 1" in shown["description"]

    actions = [(e["action"], e.get("command"), e["user_id"]) for e in bot.audit.entries()]
    assert ("refused", "feeds add", int(fake.bob["id"])) in actions
    assert ("announcements on", None, int(fake.admin["id"])) in actions
    assert ("feed added", None, int(fake.rolemod["id"])) in actions
    assert not fake.rejected and not fake.unknown_routes
