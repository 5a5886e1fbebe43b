"""End to end through the fake Discord, with a local feed server: a failing feed is announced once
and its recovery once (across a restart), ``Retry-After`` is honoured, OPML goes out as a file and
comes back in as an attachment, and topic channels get only their topic, mentioning only their role."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from bot.core.guild_settings import GuildSettings
from bot.features.feeds.poller import POLLER
from bot.features.feeds.routes import ROUTES, Route
from index.feeds._starter import load_starter_feeds
from measure.fakediscord import EPHEMERAL, Attachment, FakeDiscord
from measure.fakediscord.records import pings
from tests.bot.conftest import ARTICLE, GatedEngine, Workspace, bot_settings
from tests.support.feeds import rss
from tests.support.local_server import LocalServer, run_server

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord


@pytest.fixture
def site() -> Iterator[LocalServer]:
    with run_server() as server:
        yield server


def status(server: LocalServer, path: str, code: int, **headers: str) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, text="unavailable", headers=headers)

    server.routes[path] = handler


async def poll_now(bot: Any) -> None:
    """One poll with every feed due (as if its next time had come), then its alerts and announcements."""
    feeds = bot.engine.feeds

    def make_due() -> None:
        with feeds.store()._tx() as db:
            db.execute("UPDATE feeds SET next_due = '2000-01-01T00:00:00+00:00'")

    await asyncio.to_thread(make_due)
    await POLLER.of(bot).poll_once()


def announcements(fake: FakeDiscord, channel: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in fake.bot_messages(channel["id"]) if "new article" in str(m.get("embeds"))]


def contents(fake: FakeDiscord, channel: dict[str, Any], needle: str) -> list[str]:
    return [m["content"] for m in fake.bot_messages(channel["id"]) if needle in (m.get("content") or "")]


async def test_a_failing_feed_is_announced_once_and_its_recovery_once_across_a_restart(
    fake: FakeDiscord, start_bot: Any, site: LocalServer, workspace: Workspace, no_pings_everywhere: None
) -> None:
    status(site, "/feed.xml", 500)
    bot = await start_bot(feeds_poll_seconds=3600)
    announce = await fake.slash("feeds", {"channel": fake.channel}, sub="announce", user=fake.admin)
    await fake.wait_for(announce.messages)
    await asyncio.to_thread(bot.engine.feeds.add, site.url("/feed.xml"), name="Flaky Wire")

    for _ in range(2):
        await poll_now(bot)
    assert contents(fake, fake.channel, "Flaky Wire") == []  # two failures: not yet
    await poll_now(bot)
    (alert,) = contents(fake, fake.channel, "Flaky Wire")
    assert "failed 3 polls in a row (last error: HTTP 500)" in alert
    assert bot.metrics.registry.get_sample_value("policybot_feeds_failing") == 1.0
    assert bot.metrics.registry.get_sample_value("policybot_feed_alerts_total", {"kind": "failing"}) == 1.0
    for _ in range(2):
        await poll_now(bot)
    assert len(contents(fake, fake.channel, "Flaky Wire")) == 1  # never on every failed poll

    await bot.close()  # a restart, with a new engine reopening feeds.sqlite
    settings = bot_settings(workspace, feeds_poll_seconds=3600)
    bot = await start_bot(engine_=GatedEngine(settings, embedder=workspace.embedder), feeds_poll_seconds=3600)
    await poll_now(bot)
    assert len(contents(fake, fake.channel, "Flaky Wire")) == 1

    site.text("/feed.xml", rss("Flaky Wire", []), content_type="application/rss+xml")
    await poll_now(bot)
    await poll_now(bot)
    messages = contents(fake, fake.channel, "Flaky Wire")
    assert len(messages) == 2 and "works again" in messages[1]  # one recovery message
    assert bot.metrics.registry.get_sample_value("policybot_feeds_failing") == 0.0
    listed = await fake.slash("feeds", sub="list", user=fake.admin)
    assert "failing" not in (await fake.wait_for(listed.messages))[0]["embeds"][0]["description"]


async def test_retry_after_sets_the_next_poll(fake: FakeDiscord, bot: Any, site: LocalServer) -> None:
    status(site, "/feed.xml", 429, **{"Retry-After": "7200"})
    await asyncio.to_thread(bot.engine.feeds.add, site.url("/feed.xml"), name="Busy Wire", every_minutes=30)
    await poll_now(bot)
    (feed,) = await asyncio.to_thread(bot.engine.feeds.all)
    assert feed.last_error == "HTTP 429, retry after 7200 s" and feed.last_error_at is not None
    assert (feed.next_due - feed.last_error_at).total_seconds() == 7200  # not the one-hour backoff
    assert site.hits("/feed.xml") == 1
    await POLLER.of(bot).poll_once()  # not due yet: the server is left alone
    assert site.hits("/feed.xml") == 1
    listed = await fake.slash("feeds", sub="list", user=fake.admin)
    assert "retry after 7200 s" in (await fake.wait_for(listed.messages))[0]["embeds"][0]["description"]


async def test_opml_export_as_a_file_and_import_from_an_attachment(fake: FakeDiscord, bot: Any) -> None:
    starter = await fake.slash("feeds", sub="starter", user=fake.admin)
    await fake.wait_for(starter.messages)
    export = await fake.slash("feeds", sub="export", user=fake.admin)
    (reply,) = await fake.wait_for(export.messages)
    assert reply["flags"] & EPHEMERAL and f"{len(load_starter_feeds())} feed(s)" in reply["content"]
    (file,) = reply["attachments"]
    opml = fake.attachment_data(file)
    assert file["filename"] == "policybot-feeds.opml" and b'xmlUrl="https://therecord.media/feed"' in opml
    before = sorted((f.name, f.url, f.every_minutes, f.enabled, f.kind) for f in bot.engine.feeds.all())
    for feed in bot.engine.feeds.all():
        bot.engine.feeds.remove(feed.name)

    refused = await fake.slash("feeds", {"file": Attachment("feeds.opml", opml)}, sub="import", user=fake.bob)
    await fake.wait_for(lambda: refused.callbacks)
    assert "Only moderators" in refused.callbacks[0]["data"]["content"] and bot.engine.feeds.all() == []

    hostile = b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x "y">]><opml><body/></opml>'
    bad = await fake.slash("feeds", {"file": Attachment("evil.opml", hostile)}, sub="import", user=fake.rolemod)
    assert "DTD or XML entities" in (await fake.wait_for(bad.messages))[0]["content"]

    imported = await fake.slash("feeds", {"file": Attachment("feeds.opml", opml)}, sub="import", user=fake.rolemod)
    text = (await fake.wait_for(imported.messages))[0]["content"]
    assert f"{len(before)} feed(s) added, 0 already followed, 0 skipped" in text
    assert sorted((f.name, f.url, f.every_minutes, f.enabled, f.kind) for f in bot.engine.feeds.all()) == before
    actions = [e["action"] for e in bot.audit.entries()]
    assert "feeds imported" in actions and "refused" in actions


RANSOMWARE = """<html><head><title>Ransomware gang extorts hospitals | Ruritania Wire</title>
<meta name="date" content="2024-06-13"></head><body><article><h1>Ransomware gang extorts hospitals as governments weigh a ban on ransom payments</h1>
<p>A ransomware gang encrypted the systems of twelve hospitals and demanded a ransom payment in bitcoin to unlock them.</p>
<p>Officials said the ransomware attack forced emergency rooms to turn away patients while the ransomware was removed.</p>
<p>Governments are debating a ban on paying ransoms to ransomware criminals, to cut off the money that funds such attacks.</p>
</article></body></html>"""


def two_story_feed(base: str) -> str:
    return rss(
        "Ruritania Wire",
        [
            ("zenda-1", f"{base}/news/zenda-fine", "Ruritania fines Zenda Telecom over late breach report", "Fined."),
            ("ransom-1", f"{base}/news/ransomware", "Ransomware gang extorts hospitals", "Ransom."),
        ],
    )


async def test_topic_channels_get_only_their_topic_and_mention_only_their_role(
    fake: FakeDiscord, start_bot: Any, site: LocalServer, workspace: Workspace, no_pings_everywhere: None
) -> None:
    ransom = fake.add_channel(fake.guild, "ransomware")
    role = fake._role(fake.snowflake(), "Ransomware Watchers", 0)
    fake.guild["roles"].append(role)
    legacy = GuildSettings(bot_settings(workspace).guild_settings_db)  # set by an earlier version
    legacy.set(int(fake.guild["id"]), "announce_channel", fake.channel["id"])
    legacy.close()
    bot = await start_bot(feeds_poll_seconds=3600)
    guild_id = int(fake.guild["id"])
    assert ROUTES.of(bot).every() == [Route(guild_id, int(fake.channel["id"]))]  # adopted: every article there
    assert bot.guild_settings.get(guild_id, "announce_channel") is None

    on = await fake.slash(
        "feeds", {"channel": ransom, "topic": "ransomware", "role": role}, sub="announce", user=fake.admin
    )
    assert "mentioning" in (await fake.wait_for(on.messages))[0]["content"]
    site.text("/news/zenda-fine", ARTICLE)
    site.text("/news/ransomware", RANSOMWARE)
    site.text("/feed.xml", two_story_feed(site.base), content_type="application/rss+xml")
    await asyncio.to_thread(bot.engine.feeds.add, site.url("/feed.xml"), name="Ruritania Wire")
    await poll_now(bot)

    (general,) = announcements(fake, fake.channel)
    assert general["embeds"][0]["title"] == "2 new articles" and not general["content"]
    (topical,) = announcements(fake, ransom)
    embed = topical["embeds"][0]
    assert embed["title"] == "1 new article on “ransomware”"
    assert "Ransomware gang extorts hospitals" in embed["description"] and "Zenda" not in embed["description"]
    payload = fake.message_payloads[topical["id"]][0]
    assert payload["content"] == f"<@&{role['id']}>"
    assert payload["allowed_mentions"] == {"parse": [], "roles": [int(role["id"])]}  # no users, no everyone
    assert pings(payload) == {f"role:{role['id']}"}  # the role, and no one else
    assert pings(fake.message_payloads[general["id"]][0]) == set()

    off = await fake.slash("feeds", {"channel": ransom, "off": True}, sub="announce", user=fake.admin)
    await fake.wait_for(off.messages)
    assert ROUTES.of(bot).every() == [Route(guild_id, int(fake.channel["id"]))]
