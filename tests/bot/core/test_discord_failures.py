"""Discord's limits and failures, in the fake Discord: 429s (per route and global), a gateway drop
and RESUME mid-answer, an expired interaction token, a deleted question, missing permissions.

Each test shows the answer still arrives (or a clear message does) and nothing crashes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from bot.app import PolicyBotMixin, create_bot
from bot.features.feeds.routes import ROUTES
from measure.fakediscord import EPHEMERAL, FakeDiscord
from tests.bot.conftest import GatedEngine, Workspace, bot_settings

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord

QUESTION = "When was the Cyber Resilience Act adopted?"
EXPECT = "policywire.example.com"
FOLLOWUP = r"/webhooks/\d+/[^/]+"
CALLBACK = r"/interactions/\d+/[^/]+/callback"
CHANNEL_POST = r"/channels/\d+/messages"


async def test_per_route_429s_on_every_answer_route_are_waited_out_and_nothing_is_dropped(
    fake: FakeDiscord, bot: Any, no_pings_everywhere: None
) -> None:
    callback = fake.limit("POST", CALLBACK, count=1, retry_after=0.05)
    followup = fake.limit("POST", FOLLOWUP, count=2, retry_after=0.05)
    asks = [await fake.slash("ask", {"question": QUESTION}, user=u) for u in (fake.alice, fake.bob)]
    await fake.wait_for(lambda: all(a.messages() for a in asks), timeout=60)
    assert callback.hits == 1 and followup.hits == 2  # refused, retried after retry_after, then accepted
    for a in asks:
        assert EXPECT in a.texts() and not a.errors
    channel = fake.limit("POST", CHANNEL_POST, count=2, retry_after=0.05)  # the mention reply path (bot HTTP client)
    msg = await fake.user_message(QUESTION, mention_bot=True)
    await fake.wait_for(lambda: fake.replies_to(msg), timeout=60)
    assert channel.hits == 2 and len(fake.replies_to(msg)) == 1


async def test_global_429_is_honoured_and_every_question_is_answered(fake: FakeDiscord, bot: Any) -> None:
    rule = fake.limit("POST", FOLLOWUP, count=1, retry_after=0.2, is_global=True)
    dm_rule = fake.limit("POST", CHANNEL_POST, count=1, retry_after=0.2, is_global=True)
    asks = [await fake.slash("ask", {"question": QUESTION}, user=u) for u in (fake.alice, fake.bob, fake.rolemod)]
    dm = await fake.user_message(QUESTION, dm=True, user=fake.admin)
    await fake.wait_for(lambda: all(a.messages() for a in asks) and fake.replies_to(dm), timeout=60)
    assert rule.hits == 1 and dm_rule.hits == 1
    assert all(EXPECT in a.texts() for a in asks)
    assert fake.limited and not fake.rejected


class SlowAsk(GatedEngine):
    """Holds every question until the test lets it through (to drop the gateway meanwhile)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asking = threading.Event()
        self.go = threading.Event()

    def ask(self, question: str, **kwargs: Any) -> Any:
        self.asking.set()
        self.go.wait(30)
        return super().ask(question, **kwargs)


@pytest.fixture
async def reconnecting_bot(fake: FakeDiscord, workspace: Workspace) -> AsyncIterator[tuple[PolicyBotMixin, SlowAsk]]:
    """The bot as ``policybot run`` starts it: ``reconnect=True`` (the fixture bot never reconnects)."""
    settings = bot_settings(workspace)
    engine = SlowAsk(settings, embedder=workspace.embedder)
    bot = create_bot(engine, settings, guild_ready_timeout=0.05, identify_delay=0)
    await bot.login(fake.token)
    task = asyncio.create_task(bot.connect(reconnect=True))
    await asyncio.wait_for(bot.wait_until_ready(), 20)
    yield bot, engine
    engine.go.set()
    await bot.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 5)


async def test_gateway_drop_and_resume_while_an_answer_is_produced(
    fake: FakeDiscord, reconnecting_bot: tuple[PolicyBotMixin, SlowAsk]
) -> None:
    _, engine = reconnecting_bot
    inter = await fake.slash("ask", {"question": QUESTION})
    await fake.wait_for(lambda: inter.deferred)
    assert await asyncio.to_thread(engine.asking.wait, 30)
    await fake.gateways[-1].ws.close(code=4000, message=b"Unknown error")  # Discord drops the connection
    await fake.wait_for(lambda: fake.resumes and any(g.identified and not g.ws.closed for g in fake.gateways), timeout=30)
    engine.go.set()
    await fake.wait_for(inter.messages, timeout=30)
    assert EXPECT in inter.texts() and not inter.errors
    assert len(fake.identifies) == 1 and fake.resumes[0]["session_id"].startswith("session-")  # resumed, not re-identified
    later = await fake.slash("ask", {"question": QUESTION}, user=fake.bob)  # events arrive over the resumed session
    await fake.wait_for(later.messages, timeout=30)
    assert EXPECT in later.texts()


async def test_reindex_report_goes_to_the_channel_when_the_interaction_token_expired(
    fake: FakeDiscord, bot: Any, engine: GatedEngine
) -> None:
    engine.gate_stage = "reading"
    inter = await fake.slash("index", {}, sub="reindex", user=fake.admin)
    await fake.wait_for(lambda: inter.callbacks)
    assert await asyncio.to_thread(engine.reached.wait, 30)
    fake.time_offset += 15 * 60 + 1  # the build took longer than the token lives
    engine.release.set()

    def reported() -> list[dict[str, Any]]:
        return [m for m in fake.bot_messages(fake.channel["id"]) if "Reindex done" in (m.get("content") or "")]

    (report,) = await fake.wait_for(reported, timeout=60)
    payload = fake.message_payloads[report["id"]][0]
    assert payload["allowed_mentions"]["parse"] == []
    assert not any("Reindex done" in (m.get("content") or "") for m in inter.messages())  # the edit was refused
    assert [e["action"] for e in bot.audit.entries()][-1] == "reindex finished"


async def test_question_deleted_before_the_reply_still_gets_its_answer(fake: FakeDiscord, start_bot: Any) -> None:
    engine_gate = threading.Event()
    bot = await start_bot()
    real_ask = bot.engine.ask

    def held(question: str, **kwargs: Any) -> Any:
        engine_gate.wait(30)
        return real_ask(question, **kwargs)

    bot.engine.ask = held
    for dm in (True, False):  # a DM, then a mention in the guild channel
        msg = await fake.user_message(QUESTION, dm=dm, mention_bot=not dm)
        await fake.wait_for(lambda: fake.typing)
        await fake.delete_message(msg)
        engine_gate.set()

        def answered(channel_id: str = msg["channel_id"]) -> list[dict[str, Any]]:
            return [x for x in fake.bot_messages(channel_id) if EXPECT in str(x.get("embeds"))]

        sent = await fake.wait_for(answered, timeout=60)
        assert len(sent) == 1 and "message_reference" not in sent[0]  # a plain message, not a failed reply
        engine_gate.clear()
        fake.typing.clear()
    engine_gate.set()
    assert not [r for r in fake.rejected if "deleted" in str(r)]


async def test_missing_permissions_in_a_channel_never_crash_the_bot(fake: FakeDiscord, bot: Any) -> None:
    fake.deny(fake.channel["id"])
    msg = await fake.user_message(QUESTION, mention_bot=True)  # typing gets 403, so no reply is even tried
    await fake.wait_for(
        lambda: any(r.path.startswith(f"/channels/{fake.channel['id']}/") for r in fake.requests), timeout=30
    )
    assert not fake.replies_to(msg)
    fake.denied_channels.clear()
    inter = await fake.slash("ask", {"question": QUESTION})  # the bot is alive and answering
    await fake.wait_for(inter.messages, timeout=30)
    assert EXPECT in inter.texts()


async def test_announcing_in_a_channel_the_bot_cannot_post_in_is_refused_clearly(
    fake: FakeDiscord, start_bot: Any
) -> None:
    locked = fake.add_channel(fake.guild, "locked", deny_bot=1 << 11)  # Send Messages denied to the bot
    bot = await start_bot()
    inter = await fake.slash("feeds", {"channel": locked}, sub="announce", user=fake.admin)
    await fake.wait_for(lambda: inter.messages() or inter.callbacks, timeout=30)
    await fake.wait_for(inter.messages, timeout=30)
    (reply,) = inter.messages()
    assert reply["flags"] & EPHEMERAL
    assert "cannot post in" in inter.texts() and "Send Messages" in inter.texts()
    assert ROUTES.of(bot).every() == []
    ok = await fake.slash("feeds", {"channel": fake.channel}, sub="announce", user=fake.admin)
    await fake.wait_for(ok.messages, timeout=30)
    assert "will be posted in" in ok.texts()


def test_forbidden_errors_are_explained_not_logged_as_bugs() -> None:
    from bot.core.errors import describe

    class Response:
        status = 403
        reason = "Forbidden"

    error = discord.Forbidden(Response(), {"code": 50013, "message": "Missing Permissions"})  # type: ignore[arg-type]
    text = describe(error, where="/feeds announce")
    assert "missing a permission" in text and "Missing Permissions" in text and "Reference" not in text


def withheld(bot: Any) -> float:
    return bot.metrics.registry.get_sample_value("policybot_replies_withheld_total") or 0.0


async def test_a_flood_of_mentions_where_the_bot_cannot_post_costs_one_request_not_fifty(
    fake: FakeDiscord, start_bot: Any
) -> None:
    other = fake.add_channel(fake.guild, "other")
    bot = await start_bot()
    now = [0.0]
    bot.send_guard.clock = lambda: now[0]  # the back-off window passes when the test says so
    denied = fake.channel["id"]
    fake.deny(denied)  # Discord answers 403 Missing Permissions; the gateway cache still says the bot may post

    def attempts() -> int:
        return sum(1 for r in fake.requests if r.path.startswith(f"/channels/{denied}/"))

    for _ in range(50):
        await fake.user_message(QUESTION, mention_bot=True)
    await fake.wait_for(lambda: withheld(bot) == 50, timeout=60)
    assert attempts() == 1  # one typing request found out; the other 49 mentions waited for it and stayed silent

    asked = await fake.user_message(QUESTION, mention_bot=True, channel=other)
    (reply,) = await fake.wait_for(lambda: fake.replies_to(asked), timeout=60)
    assert EXPECT in str(reply["embeds"])  # the bot still answers where it may post

    now[0] += bot.settings.forbidden_retry_seconds + 1  # the window is over: one message tries again
    for _ in range(5):
        await fake.user_message(QUESTION, mention_bot=True)
    await fake.wait_for(lambda: withheld(bot) == 55, timeout=60)
    assert attempts() == 2

    fake.denied_channels.clear()  # a moderator fixes the permissions: after the next window it answers there
    now[0] += bot.settings.forbidden_retry_seconds + 1
    fixed = await fake.user_message(QUESTION, mention_bot=True)
    await fake.wait_for(lambda: fake.replies_to(fixed), timeout=60)
    assert withheld(bot) == 55


async def test_a_channel_the_gateway_cache_says_is_closed_is_not_even_tried(fake: FakeDiscord, start_bot: Any) -> None:
    locked = fake.add_channel(fake.guild, "locked", deny_bot=1 << 11)  # Send Messages denied to the bot
    bot = await start_bot()
    for _ in range(3):
        await fake.user_message(QUESTION, mention_bot=True, channel=locked)
    await fake.wait_for(lambda: withheld(bot) == 3, timeout=60)
    asked = await fake.user_message(QUESTION, mention_bot=True)
    await fake.wait_for(lambda: fake.replies_to(asked), timeout=60)
    assert not [r for r in fake.requests if r.path.startswith(f"/channels/{locked['id']}/")]
