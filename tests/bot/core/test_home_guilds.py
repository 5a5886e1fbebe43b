"""The articles, feeds and index are shared by every server the bot is in: only a home server's
moderators (``POLICYBOT_HOME_GUILDS``) and the application's owner may change them. Two guilds
in the fake Discord; per-server settings and read-only views stay with each server's moderators.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.features.feeds.routes import ROUTES, Route
from measure.fakediscord import EPHEMERAL, FakeDiscord, Interaction

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord

ARTICLE = "ransomware-summit"
QUESTION = "How many countries pledged not to pay ransoms?"
CITED = "ransomware-summit-pledge"

# Every command that changes what all servers read.
SHARED_CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("index", "reindex", {"full": True}),
    ("index", "add", {"url": "http://127.0.0.1:1/x"}),
    ("index", "remove", {"article": ARTICLE}),
    ("feeds", "add", {"url": "http://127.0.0.1:1/feed.xml"}),
    ("feeds", "remove", {"feed": "x"}),
    ("feeds", "enable", {"feed": "x"}),
    ("feeds", "starter", {}),
]


def refusal(inter: Interaction) -> str:
    """The text of an immediate ephemeral refusal, or "" when the command was not refused."""
    first = inter.callbacks[0] if inter.callbacks else {}
    data = first.get("data") or {}
    content = str(data.get("content") or "")
    if first.get("type") != 4 or not int(data.get("flags") or 0) & EPHEMERAL or "Only moderators" not in content:
        return ""
    return content


async def run(fake: FakeDiscord, calls: list[tuple[str, str | None, dict[str, Any]]], **kwargs: Any) -> list[Interaction]:
    inters = [await fake.slash(name, opts, sub=sub, **kwargs) for name, sub, opts in calls]
    await fake.wait_for(lambda: all(i.callbacks for i in inters), timeout=60)
    return inters


async def ask_cites_the_article(fake: FakeDiscord, guild: dict[str, Any]) -> bool:
    inter = await fake.slash("ask", {"question": QUESTION}, guild=guild)
    await fake.wait_for(inter.messages, timeout=60)
    return CITED in inter.texts()


async def remove_article(fake: FakeDiscord, bot: Any, user: dict[str, Any], guild: dict[str, Any]) -> Interaction:
    inter = await fake.slash("index", {"article": ARTICLE}, sub="remove", user=user, guild=guild)
    await fake.wait_for(lambda: inter.callbacks and (refusal(inter) or inter.messages()), timeout=60)
    await bot.reindexer.wait()
    return inter


def unchanged(bot: Any) -> bool:
    return (
        (bot.settings.corpus_dir / f"{ARTICLE}.md").exists()
        and bot.reindexer.last is None
        and not bot.reindexer.running
        and bot.engine.feeds.all() == []
    )


async def test_another_servers_moderator_cannot_change_what_every_server_reads(
    fake: FakeDiscord, start_bot: Any
) -> None:
    other = fake.add_guild("Other Guild")
    othermod = fake.add_member(other, "othermod", roles=("Admins",))  # Manage Server there, and only there
    bot = await start_bot(home_guilds=[int(fake.guild["id"])])
    inters = await run(fake, list(SHARED_CALLS), user=othermod, guild=other)
    texts = [refusal(i) for i in inters]
    assert all("home server" in t for t in texts), texts
    refused = [e for e in bot.audit.entries() if e["action"] == "refused"]
    assert sorted((e["command"], e["guild_id"], e["reason"]) for e in refused) == sorted(
        (f"{name} {sub}", int(other["id"]), "not a home server") for name, sub, _ in SHARED_CALLS
    )
    assert unchanged(bot)
    assert await ask_cites_the_article(fake, fake.guild)  # the first server's answer still has the article

    # The autocomplete of what they may not remove offers nothing; at home it does.
    completions = [
        await fake.autocomplete("index", "remove", "article", "ransom", user=user, guild=guild)
        for user, guild in ((othermod, other), (fake.rolemod, fake.guild))
    ]
    await fake.wait_for(lambda: all(c.choices() is not None for c in completions), timeout=30)
    assert completions[0].choices() == [] and completions[1].choices()


async def test_each_servers_moderators_keep_their_own_settings_and_the_read_only_views(
    fake: FakeDiscord, start_bot: Any
) -> None:
    other = fake.add_guild("Other Guild")
    othermod = fake.add_member(other, "othermod", roles=("Admins",))
    bot = await start_bot(home_guilds=[int(fake.guild["id"])])
    calls: list[tuple[str, str | None, dict[str, Any]]] = [
        ("settings", None, {"answers": "quoted"}),
        ("feeds", "announce", {"channel": other["channels"][0]}),
        ("feeds", "list", {}),
        ("index", "status", {}),
    ]
    inters = await run(fake, calls, user=othermod, guild=other)
    await fake.wait_for(lambda: all(i.messages() for i in inters), timeout=60)
    assert not any(refusal(i) for i in inters), [refusal(i) for i in inters]
    assert bot.guild_settings.all("answers") == {int(other["id"]): "quoted"}  # that server's only
    assert ROUTES.of(bot).every() == [Route(int(other["id"]), int(other["channels"][0]["id"]))]
    assert "Live index" in inters[3].texts()
    member = await run(fake, calls[:1], user=fake.alice, guild=other)  # not a moderator: still refused
    assert "Only moderators" in refusal(member[0])


async def test_a_home_servers_moderator_changes_the_corpus(fake: FakeDiscord, start_bot: Any) -> None:
    fake.add_guild("Other Guild")
    bot = await start_bot(home_guilds=[int(fake.guild["id"])])
    inter = await remove_article(fake, bot, fake.rolemod, fake.guild)  # the moderator role, in the home server
    assert not refusal(inter) and "Removed" in inter.texts()
    assert not (bot.settings.corpus_dir / f"{ARTICLE}.md").exists()
    assert "article removed" in [e["action"] for e in bot.audit.entries()]


@pytest.mark.parametrize("how", ["owner", "team developer"])
async def test_the_applications_owner_may_change_it_without_being_a_moderator(
    fake: FakeDiscord, start_bot: Any, how: str
) -> None:
    other = fake.add_guild("Other Guild")
    if how == "owner":
        fake.app_owner = fake.bob
    else:
        fake.app_team = fake.team(fake.admin, {fake.bob["id"]: "developer", fake.alice["id"]: "read_only"})
    bot = await start_bot(home_guilds=[int(fake.guild["id"])])
    if how == "team developer":  # a read-only team member is no owner: alice is refused as a member
        (alice,) = await run(fake, [("feeds", "starter", {})], user=fake.alice)
        assert "Only moderators" in refusal(alice)
    inter = await remove_article(fake, bot, fake.bob, fake.guild)  # bob holds no role in any server
    assert not refusal(inter) and "Removed" in inter.texts()
    starter = await fake.slash("feeds", {}, sub="starter", user=fake.bob, guild=other)  # from any server the bot is in
    await fake.wait_for(starter.messages, timeout=60)
    assert not refusal(starter) and bot.engine.feeds.all()


async def test_unset_with_one_server_that_server_is_home(fake: FakeDiscord, start_bot: Any) -> None:
    bot = await start_bot()
    assert bot.settings.home_guilds is None and len(bot.guilds) == 1
    inter = await remove_article(fake, bot, fake.rolemod, fake.guild)
    assert not refusal(inter) and "Removed" in inter.texts()


async def test_unset_with_two_servers_refuses_and_names_the_setting(fake: FakeDiscord, start_bot: Any) -> None:
    fake.add_guild("Other Guild")
    bot = await start_bot()
    inter = await remove_article(fake, bot, fake.rolemod, fake.guild)
    assert "POLICYBOT_HOME_GUILDS" in refusal(inter)
    assert [e["reason"] for e in bot.audit.entries() if e["action"] == "refused"] == ["no home server set"]
    assert unchanged(bot)
    assert await ask_cites_the_article(fake, fake.guild)
