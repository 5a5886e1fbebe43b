"""The reader's short answer and an ambiguous question's stories, as Discord shows them (pure functions)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from bot.core.render import check_limits
from bot.features.answers.render import SEVERAL, answer_parts
from bot.features.answers.stories import answer_from_json, stored_story
from bot.features.answers.views import answer_view
from index.types import Answer, Citation, Source, Span
from measure.fakediscord import message_problems
from tests.support.discord_text import assert_inert


def story(n: int, *, title: str, short: str | None, quote: str, question: str = "Who attended the meeting?") -> Answer:
    citation = Citation(f"story-{n}", title, "Outlet", f"https://news.example/{n}", date(2024, 3, n))
    return Answer(question, True, f"{quote} [1]", sources=(Source(citation, quote, 0.5),), short_answer=short)


BEST = story(1, title="White House meets tech chiefs", short="Sundar Pichai", quote="Sundar Pichai of Google attended.")
HOSTILE = story(
    2,
    title="Town **hall** <@123> https://evil.example/x",
    short="@everyone and *Mayor* <@&456> `rm`",
    quote="The mayor attended.",
)
THIRD = story(3, title="Open-source summit", short=None, quote="Maintainers from 12 projects attended.")
AMBIGUOUS = replace(BEST, alternatives=(HOSTILE, THIRD))


def description(answer: Answer) -> str:
    return answer_parts(answer)[0].embeds[0].description or ""


def test_the_short_answer_leads_in_bold_and_is_escaped() -> None:
    answer = replace(BEST, short_answer="*Forty* countries <@123>")
    shown = description(answer)
    assert shown.startswith("**\\*Forty\\* countries \\<@123\\>**\n")  # inert: no italics, no mention
    assert "Sundar Pichai of Google attended. \\[1\\]" in shown
    assert description(replace(BEST, short_answer=None)).startswith("Sundar Pichai of Google attended.")


def test_a_short_answer_already_opening_the_text_is_not_said_twice() -> None:
    text = "Sundar Pichai. Sundar Pichai of Google attended. [1]"
    start = text.index("Google")
    answer = replace(BEST, text=text, spans=(Span(0, 13, "name"), Span(start, start + 6, "name")))
    assert description(answer) == "**Sundar Pichai**\nSundar Pichai of **Google** attended. \\[1\\]"


def test_a_quoted_sentence_that_starts_with_the_short_answer_stays_whole() -> None:
    answer = replace(BEST, text="Forty countries pledged not to pay. [1]", short_answer="Forty")
    assert description(answer) == "**Forty**\nForty countries pledged not to pay. \\[1\\]"


def test_several_stories_are_listed_after_the_best_answer_escaped() -> None:
    (part,) = answer_parts(AMBIGUOUS)
    embed = part.embeds[0]
    assert (embed.description or "").startswith(f"{SEVERAL}\n\n**Sundar Pichai**\n")
    fields = {f.name: f.value or "" for f in embed.fields}
    assert list(fields) == ["Sources", "Other stories"]
    second, third = fields["Other stories"].splitlines()
    assert second.startswith("**2.** Town \\*\\*hall\\*\\* \\<@123\\> https:\u200d//evil.example/x (2024-03-02) — ")
    assert second.endswith("@everyone and \\*Mayor\\* \\<@&456\\> \\`rm\\`")
    assert third == "**3.** Open-source summit (2024-03-03) — Maintainers from 12 projects attended."
    assert "news.example/1" in fields["Sources"] and "news.example/2" not in fields["Sources"]
    assert_inert([embed.description or "", *fields.values()], {"https://news.example/1"})


def test_more_than_three_stories_show_three() -> None:
    many = replace(BEST, alternatives=tuple(story(n, title=f"T{n}", short=f"S{n}", quote="Q.") for n in range(2, 7)))
    others = answer_parts(many)[0].embeds[0].fields[-1].value or ""
    assert [line.split()[0] for line in others.splitlines()] == ["**2.**", "**3.**"]
    assert len(answer_view("0123456789abcdef", many).children) == 3 + 3


@pytest.mark.parametrize("n_sources", [1, 30])
@pytest.mark.parametrize("size", [10, 5000])
def test_stories_always_fit_and_are_never_crowded_out(n_sources: int, size: int) -> None:
    sources = tuple(
        Source(Citation(f"a{i}", "T" * 300, "O" * 80, "https://e.org/" + "u" * 700, None), "q", 0.5)
        for i in range(n_sources)
    )
    long = story(2, title="<" * 2000, short="*" * size, quote="x " * size)
    answer = replace(BEST, text="word " * size, sources=sources, alternatives=(long, long))
    parts = answer_parts(answer, footer="f" * 3000)
    for part in parts:
        assert check_limits(part.embeds) == []
        assert message_problems({"embeds": [e.to_dict() for e in part.embeds]}) == []
    names = [f.name for p in parts for e in p.embeds for f in e.fields]
    assert names[-1].startswith("Other stories") and "Sources" in names


def test_buttons_one_per_story_then_sources_and_votes_below() -> None:
    rid = "0123456789abcdef"
    view = answer_view(rid, AMBIGUOUS)
    rows = [(item.row, getattr(item, "custom_id", None)) for item in view.children]  # type: ignore[attr-defined]
    assert rows == [
        (0, f"pb:story:{rid}:1"),
        (0, f"pb:story:{rid}:2"),
        (0, f"pb:story:{rid}:3"),
        (1, f"pb:src:{rid}"),
        (1, f"pb:vote:{rid}:up"),
        (1, f"pb:vote:{rid}:down"),
    ]
    payload = {"components": view.to_components()}
    labels = [c["label"] for row in payload["components"] for c in row["components"] if c.get("label")]
    assert labels[:3] == [
        "1. White House meets tech chiefs",
        "2. Town **hall** <@123> https:\u200d//evil.example/x",
        "3. Open-source summit",
    ]
    assert message_problems(payload) == []
    plain = [getattr(i, "custom_id", "") for i in answer_view(rid, BEST).children]  # type: ignore[attr-defined]
    assert plain == [f"pb:src:{rid}", f"pb:vote:{rid}:up", f"pb:vote:{rid}:down"]


def test_a_stored_story_reads_back_as_it_was_sent() -> None:
    stored = AMBIGUOUS.to_json()
    assert stored_story(stored, 2) == HOSTILE
    assert stored_story(stored, 3) == THIRD
    first = stored_story(stored, 1)
    assert first is not None and first.alternatives == () and first.to_json()["answer"] == BEST.text
    assert stored_story(stored, 4) is None and stored_story(BEST.to_json(), 2) is None


@pytest.mark.parametrize(
    "damaged",
    [{}, {"question": "q"}, {"question": "q", "answerable": True, "answer": "t", "sources": [{"title": "no id"}]},
     {"question": "q", "answerable": True, "answer": "t", "sources": [{"article_id": "a", "published": "soon"}]},
     {"question": "q", "answerable": True, "answer": "t", "spans": [{"start": "x"}]}, [], "text"],
)  # fmt: skip
def test_a_damaged_stored_story_is_none_not_an_error(damaged: object) -> None:
    assert answer_from_json(damaged) is None
    assert stored_story({"alternatives": [damaged]}, 2) is None
