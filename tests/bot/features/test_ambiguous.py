"""End to end: an ambiguous question's stories and the reader's short answer, through the real bot,
its rendering and its buttons: first from the real engine and reader over a few meeting stories,
then from answers dressed up from three real answers of the test index (hostile titles, long stories)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.features.answers.render import SEVERAL
from bot.features.answers.written import WRITTEN
from index.types import Answer
from measure.fakediscord import EPHEMERAL, FakeDiscord, pings
from tests.bot.conftest import GatedEngine, StartBot, Workspace
from tests.index.ask.test_stories import AMBIGUOUS, MEETINGS
from tests.support.articles import write_article
from tests.support.discord_text import assert_inert, visible_texts
from tests.support.fake_llm import FakeLLM, Reply

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord

STORIES = (
    ("When must agencies disconnect Ivanti VPN appliances?", "February 2, 2024"),
    ("How many countries pledged not to pay ransoms?", "Forty countries <@123> @everyone"),
    ("What fines does the Cyber Resilience Act set?", "*up to* 15 million euros"),
)
HOSTILE_TITLE = "CRA **adopted** <@&456> https://evil.example/cra \u202eTXT"
URLS = {
    "https://news.example.org/2024/02/cisa-ivanti",
    "https://capitalcyber.example.net/ransomware-summit-pledge",
    "https://policywire.example.com/eu-cra-adopted",
}


class Ambiguous(GatedEngine):
    """Answers every question with the real answers to three others, as one answer of three stories
    (the third under a hostile title), each with a short answer; or, with ``stories=1``, the first alone."""

    stories = 3
    long_second = False  # the second story's quote repeated past one message

    def ask(self, question: str, **kwargs: Any) -> Answer:
        found = []
        for asked, short in STORIES[: self.stories]:
            found.append(replace(super().ask(asked, **kwargs), question=question, short_answer=short))
        if self.long_second and len(found) > 1:
            found[1] = replace(found[1], text=" ".join([found[1].text] * 60), spans=())
        cra = found[2:]
        if cra:
            (source,) = cra[0].sources[:1]
            hostile = replace(source, citation=replace(source.citation, title=HOSTILE_TITLE))
            found[2] = replace(cra[0], sources=(hostile, *cra[0].sources[1:]))
        return replace(found[0], alternatives=tuple(found[1:]))


async def test_the_engine_offers_other_meetings_as_story_buttons_that_expand(
    fake: FakeDiscord, start_bot: StartBot, workspace: Workspace, tmp_path: Path, no_pings_everywhere: None
) -> None:
    corpus = tmp_path / "meetings"  # only meeting stories: the question could mean any of them
    for name, (title, published, body) in MEETINGS.items():
        write_article(corpus, name, body, title=title, published=published)
    settings = workspace.settings().with_(corpus_dir=corpus, data_dir=tmp_path / "meetings-data", reader_model=None)
    engine = GatedEngine(settings, embedder=workspace.embedder)
    engine.build()
    expected = engine.ask(AMBIGUOUS)  # what the bot will be answered (the engine is deterministic)
    assert expected.alternatives
    await start_bot(engine_=engine)
    inter = await fake.slash("ask", {"question": AMBIGUOUS})
    (msg,) = await fake.wait_for(inter.messages)
    assert msg["embeds"][0]["description"].startswith(SEVERAL)
    count = 1 + len(expected.alternatives)
    rid = ids(msg)[0].split(":")[2]
    assert ids(msg)[:count] == [f"pb:story:{rid}:{n}" for n in range(1, count + 1)]

    second = expected.alternatives[0]
    click = await fake.click(msg, ids(msg)[1], user=fake.bob)
    await fake.wait_for(lambda: click.callbacks)
    shown = click.callbacks[0]["data"]
    assert shown["flags"] & EPHEMERAL
    embed = shown["embeds"][0]
    assert embed["title"].startswith("2. ") and second.sources[0].citation.title in embed["title"]
    assert second.sources[0].citation.url in embed["fields"][0]["value"]
    if second.short_answer:
        assert second.short_answer in embed["description"].split("\n", 1)[0].replace("\\", "")
    assert not fake.rejected and not fake.unknown_routes


@pytest.fixture
def ambiguous(workspace: Workspace) -> Ambiguous:
    return Ambiguous(workspace.settings(), embedder=workspace.embedder)


def components(msg: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in msg.get("components") or [] for c in row["components"]]


def ids(msg: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for c in components(msg)]


async def test_an_ambiguous_answer_lists_its_stories_with_a_button_each(
    fake: FakeDiscord, start_bot: StartBot, ambiguous: Ambiguous, no_pings_everywhere: None
) -> None:
    await start_bot(engine_=ambiguous)
    inter = await fake.slash("ask", {"question": "What was decided?"})
    (msg,) = await fake.wait_for(inter.messages)
    embed = msg["embeds"][0]
    assert embed["description"].startswith(
        f"{SEVERAL}\n\n**February 2, 2024**\n"
    )  # the best story's short answer leads
    assert "disconnect" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert "news.example.org/2024/02/cisa-ivanti" in fields["Sources"]
    second, third = fields["Other stories"].splitlines()
    assert second == (
        "**2.** Forty countries pledge not to pay ransoms at White House summit (2023-11-01)"
        " — Forty countries \\<@123\\> @everyone"
    )
    assert third.startswith("**3.** CRA \\*\\*adopted\\*\\* \\<@&456\\> ") and third.endswith(
        "— \\*up to\\* 15 million euros"
    )

    rid = ids(msg)[0].split(":")[2]
    assert ids(msg) == [f"pb:story:{rid}:{n}" for n in (1, 2, 3)] + [
        f"pb:src:{rid}",
        f"pb:vote:{rid}:up",
        f"pb:vote:{rid}:down",
    ]
    labels = [c.get("label") or "" for c in components(msg)][:3]
    assert labels[2].startswith("3. CRA **adopted** <@&456> ") and "\u202e" not in labels[2]
    payload = fake.message_payloads[msg["id"]][-1]
    assert pings({**payload, "content": "\n".join(visible_texts(payload))}) == set()
    assert_inert(visible_texts(payload), URLS)
    assert not fake.rejected and not fake.unknown_routes


async def test_a_story_button_shows_that_story_only_to_whoever_clicks(
    fake: FakeDiscord, start_bot: StartBot, ambiguous: Ambiguous, no_pings_everywhere: None
) -> None:
    await start_bot(engine_=ambiguous)
    inter = await fake.slash("ask", {"question": "What was decided?"})
    (msg,) = await fake.wait_for(inter.messages)
    edits_before = len(fake.message_payloads[msg["id"]])

    click = await fake.click(msg, ids(msg)[1], user=fake.bob)
    await fake.wait_for(lambda: click.callbacks)
    shown = click.callbacks[0]
    assert shown["type"] == 4 and shown["data"]["flags"] & EPHEMERAL
    assert shown["data"]["allowed_mentions"] == {"parse": []}
    embed = shown["data"]["embeds"][0]
    assert embed["title"].startswith("2. ") and "ransom" in embed["title"].lower()
    assert embed["description"].startswith("**Forty countries \\<@123\\> @everyone**\n")
    assert (
        "countries pledged at the International Counter Ransomware" in embed["description"]
    )  # its quoted sentence, then its sources
    assert "capitalcyber.example.net/ransomware-summit-pledge" in embed["fields"][0]["value"]
    assert "Other stories" not in [f["name"] for f in embed["fields"]] and "components" not in shown["data"]

    third = await fake.click(msg, ids(msg)[2])
    await fake.wait_for(lambda: third.callbacks)
    cra = third.callbacks[0]["data"]["embeds"][0]
    assert cra["description"].startswith("**\\*up to\\* 15 million euros**\n")
    assert "policywire.example.com/eu-cra-adopted" in cra["fields"][0]["value"]
    assert_inert(visible_texts(third.callbacks[0]["data"]), URLS)
    assert len(fake.message_payloads[msg["id"]]) == edits_before  # the shared message is left as it was


async def test_a_long_story_is_shown_in_several_private_messages_within_limits(
    fake: FakeDiscord, start_bot: StartBot, ambiguous: Ambiguous, no_pings_everywhere: None
) -> None:
    ambiguous.long_second = True
    await start_bot(engine_=ambiguous)
    inter = await fake.slash("ask", {"question": "What was decided?"})
    (msg,) = await fake.wait_for(inter.messages)
    click = await fake.click(msg, ids(msg)[1])
    await fake.wait_for(
        lambda: click.followups and click.followups[-1]["embeds"][-1].get("fields")
    )  # the sources close it
    shown = [click.callbacks[0]["data"], *click.followups]
    assert all(m["flags"] & EPHEMERAL for m in shown)
    text = "".join(e.get("description") or "" for m in shown for e in m["embeds"])
    assert len(text) > 6000 and text.count("countries pledged at the International") == 60
    assert "capitalcyber.example.net" in str(shown[-1]["embeds"][-1]["fields"])
    assert not fake.rejected


async def test_story_buttons_work_after_a_restart_until_the_answer_is_forgotten(
    fake: FakeDiscord, start_bot: StartBot, ambiguous: Ambiguous
) -> None:
    first = await start_bot(engine_=ambiguous)
    inter = await fake.slash("ask", {"question": "What was decided?"})
    (msg,) = await fake.wait_for(inter.messages)
    await first.close()

    second = await start_bot(engine_=ambiguous)  # a new process would see the same data folder
    click = await fake.click(msg, ids(msg)[2])
    await fake.wait_for(lambda: click.callbacks)
    assert "policywire.example.com/eu-cra-adopted" in click.callbacks[0]["data"]["embeds"][0]["fields"][0]["value"]
    assert second.feedback.forget_user(int(fake.alice["id"]))[0] == 1  # `policybot forget` for the asker
    again = await fake.click(msg, ids(msg)[1])
    await fake.wait_for(lambda: again.callbacks)
    assert again.callbacks[0]["data"]["content"] == "I no longer have this story."
    assert again.callbacks[0]["data"]["flags"] & EPHEMERAL


async def test_mentions_and_dms_get_the_stories_and_their_buttons(
    fake: FakeDiscord, start_bot: StartBot, ambiguous: Ambiguous, no_pings_everywhere: None
) -> None:
    await start_bot(engine_=ambiguous)
    for asked in (
        await fake.user_message("What was decided?", mention_bot=True),
        await fake.user_message("What was decided?", dm=True),
    ):
        (reply,) = await fake.wait_for(lambda asked=asked: fake.replies_to(asked))
        assert reply["embeds"][0]["description"].startswith(SEVERAL)
        assert [f["name"] for f in reply["embeds"][0]["fields"]] == ["Sources", "Other stories"]
        assert [i.split(":")[1] for i in ids(reply)] == ["story"] * 3 + ["src", "vote", "vote"]
        assert pings(fake.message_payloads[reply["id"]][0]) == set()
        click = await fake.click(reply, ids(reply)[1])
        await fake.wait_for(lambda click=click: click.callbacks)
        assert (
            "countries pledged at the International Counter Ransomware"
            in click.callbacks[0]["data"]["embeds"][0]["description"]
        )


async def test_the_short_answer_leads_a_single_story_reply(
    fake: FakeDiscord, start_bot: StartBot, ambiguous: Ambiguous, no_pings_everywhere: None
) -> None:
    ambiguous.stories = 1
    await start_bot(engine_=ambiguous)
    inter = await fake.slash("ask", {"question": "When must agencies disconnect Ivanti VPN appliances?"})
    (msg,) = await fake.wait_for(inter.messages)
    description = msg["embeds"][0]["description"]
    assert description.startswith("**February 2, 2024**\n") and SEVERAL not in description
    assert "disconnect" in description.split("\n", 1)[1]  # then the quoted sentence
    assert [i.split(":")[1] for i in ids(msg)] == ["src", "vote", "vote"]  # no story buttons for one story


async def test_a_written_answer_keeps_the_stories_and_their_buttons(
    fake: FakeDiscord, start_bot: StartBot, workspace: Workspace, no_pings_everywhere: None
) -> None:
    with FakeLLM() as llm:
        llm.reply = Reply("Agencies must disconnect the Ivanti Connect Secure VPN appliances by February 2, 2024 [1].")
        llm_settings = {"llm_url": llm.url, "llm_model": "fake", "llm_timeout": 10}
        engine = Ambiguous(workspace.settings().with_(**llm_settings), embedder=workspace.embedder)
        await start_bot(engine_=engine, **llm_settings)
        inter = await fake.slash("ask", {"question": "What was decided?"})
        (msg,) = await fake.wait_for(inter.messages)
        await fake.wait_for(lambda: (msg["embeds"][-1].get("footer") or {}).get("text") == WRITTEN)
    embed = msg["embeds"][0]
    assert embed["description"] == (
        f"{SEVERAL}\n\n**February 2, 2024**\n"
        "Agencies must disconnect the Ivanti Connect Secure VPN appliances by February 2, 2024 \\[1\\]."
    )
    assert [f["name"] for f in embed["fields"]] == ["Sources", "Other stories"]
    assert [i.split(":")[1] for i in ids(msg)] == ["story"] * 3 + ["src", "vote", "vote"]
    click = await fake.click(msg, ids(msg)[1])  # the stored answer, now the written one, kept its stories
    await fake.wait_for(lambda: click.callbacks)
    assert "capitalcyber.example.net" in click.callbacks[0]["data"]["embeds"][0]["fields"][0]["value"]
