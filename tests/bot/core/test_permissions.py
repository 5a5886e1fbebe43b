"""Every moderator command refused for a member without the right — in a guild, in DMs, with forged
member payloads, with the moderator role renamed — and every refusal and change audited."""

from __future__ import annotations

from typing import Any

import pytest

from measure.fakediscord import (
    EPHEMERAL,
    PERM_ADMIN,
    PERM_BASIC,
    PERM_MANAGE_GUILD,
    Attachment,
    FakeDiscord,
    Interaction,
)

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord

# (command, sub, options): every moderator command and setting the bot has
MODERATOR_CALLS: list[tuple[str, str | None, dict[str, Any]]] = [
    ("index", "reindex", {"full": True}),
    ("index", "status", {}),
    ("index", "add", {"url": "http://127.0.0.1:1/x"}),
    ("index", "remove", {"article": "ransomware-summit"}),
    ("feeds", "add", {"url": "http://127.0.0.1:1/feed.xml"}),
    ("feeds", "remove", {"feed": "x"}),
    ("feeds", "enable", {"feed": "x"}),
    ("feeds", "starter", {}),
    ("feeds", "list", {}),
    ("feeds", "announce", {"off": True}),
    ("feeds", "import", {"file": Attachment("feeds.opml", b"<opml><body/></opml>")}),
    ("feeds", "export", {}),
    ("settings", None, {"answers": "quoted"}),
    ("index", "gaps", {}),
    ("digest-schedule", None, {"off": True}),
]


def refused(inter: Interaction) -> bool:
    """Answered at once, ephemerally, with the refusal (nothing was deferred or done)."""
    if not inter.callbacks:
        return False
    first = inter.callbacks[0]
    data = first.get("data") or {}
    return first["type"] == 4 and bool(int(data.get("flags") or 0) & EPHEMERAL) and (
        "Only moderators" in (data.get("content") or "") or "cannot use this command" in (data.get("content") or "")
    )


async def run_all(fake: FakeDiscord, **kwargs: Any) -> list[Interaction]:
    calls = [await fake.slash(name, opts, sub=sub, **kwargs) for name, sub, opts in MODERATOR_CALLS]
    await fake.wait_for(lambda: all(c.callbacks for c in calls), timeout=60)
    return calls


def assert_nothing_changed(bot: Any) -> None:
    assert (bot.settings.corpus_dir / "ransomware-summit.md").exists()
    assert bot.reindexer.last is None and not bot.reindexer.running
    assert bot.engine.feeds.all() == []
    assert bot.guild_settings.all("answers") == {}


def refusals(bot: Any) -> list[dict[str, Any]]:
    return [e for e in bot.audit.entries() if e["action"] == "refused"]


async def test_members_are_refused_everything_in_a_guild_and_each_refusal_is_audited(
    fake: FakeDiscord, bot: Any
) -> None:
    calls = await run_all(fake, user=fake.alice)
    assert all(refused(c) for c in calls), [c.callbacks[0] for c in calls if not refused(c)]
    assert len(refusals(bot)) == len(MODERATOR_CALLS)
    assert {e["user_id"] for e in refusals(bot)} == {int(fake.alice["id"])}
    assert_nothing_changed(bot)


async def test_moderator_commands_in_dms_are_refused_and_audited(fake: FakeDiscord, bot: Any) -> None:
    calls = await run_all(fake, user=fake.admin, dm=True)  # even the server admin: DMs have no moderators
    assert all(refused(c) for c in calls), [c.callbacks[0] for c in calls if not refused(c)]
    assert len(refusals(bot)) == len(MODERATOR_CALLS)
    assert all(e["guild_id"] is None for e in refusals(bot))
    assert_nothing_changed(bot)


@pytest.mark.parametrize(
    "forgery",
    [
        "unknown role id",
        "moderator role of another guild",
        "admin role of another guild",
        "permission bits the roles do not grant",
    ],
)
async def test_forged_member_payloads_are_refused(fake: FakeDiscord, start_bot: Any, forgery: str) -> None:
    other = fake.add_guild("Other Guild")  # before the bot connects, so it is a guild the bot knows too
    other_mod = next(r["id"] for r in other["roles"] if r["name"] == "Policy Moderators")
    other_admin = next(r["id"] for r in other["roles"] if r["name"] == "Admins")
    bot = await start_bot()

    def forge(payload: dict[str, Any]) -> None:
        member = payload["member"]
        if forgery == "unknown role id":
            member["roles"] = ["4242424242424242"]
        elif forgery == "moderator role of another guild":
            member["roles"] = [other_mod]
        elif forgery == "admin role of another guild":
            member["roles"] = [other_admin]
        else:
            member["permissions"] = str(PERM_BASIC | PERM_MANAGE_GUILD | PERM_ADMIN)

    calls = [await fake.slash(n, o, sub=s, user=fake.alice, forge=forge) for n, s, o in MODERATOR_CALLS]
    await fake.wait_for(lambda: all(c.callbacks for c in calls), timeout=60)
    assert all(refused(c) for c in calls), [c.callbacks[0] for c in calls if not refused(c)]
    assert len(refusals(bot)) == len(MODERATOR_CALLS)
    assert_nothing_changed(bot)


async def test_renamed_moderator_role_no_longer_grants_and_the_new_name_does(fake: FakeDiscord, bot: Any) -> None:
    ok = await fake.slash("index", {}, sub="status", user=fake.rolemod)
    await fake.wait_for(ok.messages, timeout=30)
    assert "Live index" in ok.texts()
    await fake.rename_role(fake.guild, "Policy Moderators", "Helpers")
    await fake.rename_role(fake.guild, "Admins", "Policy Moderators")  # the configured name now means another role
    await fake.wait_for(lambda: bot.get_guild(int(fake.guild["id"])).get_role(int(
        next(r["id"] for r in fake.guild["roles"] if r["name"] == "Helpers"))).name == "Helpers")
    calls = await run_all(fake, user=fake.rolemod)
    assert all(refused(c) for c in calls)
    assert len(refusals(bot)) == len(MODERATOR_CALLS)


async def test_every_change_by_a_moderator_is_audited(fake: FakeDiscord, bot: Any) -> None:
    feed_url = "http://127.0.0.1:9/feed.xml"  # nothing listens: polls fail, which is fine here
    steps: list[tuple[str, str | None, dict[str, Any], str]] = [
        ("feeds", "add", {"url": feed_url, "name": "Local"}, "feed added"),
        ("feeds", "enable", {"feed": "Local", "on": False}, "feed disabled"),
        ("feeds", "starter", {}, "starter feeds installed"),
        ("feeds", "announce", {"channel": fake.channel}, "announcements on"),
        ("feeds", "announce", {"off": True}, "announcements off"),
        ("feeds", "remove", {"feed": "Local"}, "feed removed"),
        ("settings", None, {"answers": "quoted"}, "setting changed"),
        ("digest-schedule", None, {"channel": fake.channel, "weekday": 0}, "digest scheduled"),
        ("digest-schedule", None, {"off": True}, "digest schedule off"),
        ("index", "remove", {"article": "ransomware-summit"}, "article removed"),
    ]
    for name, sub, opts, action in steps:
        inter = await fake.slash(name, opts, sub=sub, user=fake.rolemod)
        await fake.wait_for(inter.messages, timeout=60)
        await bot.reindexer.wait()
        assert action in [e["action"] for e in bot.audit.entries()], (action, inter.texts())
    entries = bot.audit.entries()
    assert all(e["user_id"] == int(fake.rolemod["id"]) for e in entries if e["action"] != "refused")
    assert {"reindex started", "reindex finished"} <= {e["action"] for e in entries}
