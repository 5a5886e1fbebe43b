"""Rendering stays inside Discord's limits whatever the engine returns (pure functions)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.render import check_limits, citation, plain, progress_bar, progress_text, split_text, trim
from bot.features.answers.render import about_embed, answer_parts, markdown_with_spans, search_embed, sources_embed
from index.types import Answer, ArticleHit, BuildProgress, Citation, IndexStats, Source, Span
from measure.fakediscord import message_problems


def source(n: int, *, title: str = "Title", quote: str = "A quoted sentence.", url: str = "https://e.org/a") -> Source:
    return Source(Citation(f"a{n}", title, "Outlet", url, date(2024, 1, n % 28 + 1)), quote, 0.5)


def hit(article_id: str, title: str, url: str, published: date | None, score: float) -> ArticleHit:
    return ArticleHit(Citation(article_id, title, "O", url, published), score)


def test_spans_become_bold_and_article_markup_is_escaped() -> None:
    text = "Passwords such as *hunter2* and admin_root, said Jane Doe [1]"
    start = text.index("Jane Doe")
    rendered = markdown_with_spans(text, [Span(start, start + len("Jane Doe"), "name")])
    assert "**Jane Doe**" in rendered
    assert "\\*hunter2\\*" in rendered and "admin\\_root" in rendered  # never turns into formatting
    forged = markdown_with_spans("see [click](https://evil.example) and @everyone", [])
    assert "[click](" not in forged  # a masked link in article text cannot be forged


def test_trim_and_split_respect_limits_and_words() -> None:
    assert trim("short", 10) == "short"
    cut = trim("word " * 100, 50)
    assert len(cut) <= 50 and cut.endswith("…") and "wor…" not in cut
    text = "First sentence here. " * 400
    pieces = split_text(text, 4096)
    assert all(len(p) <= 4096 for p in pieces) and all(p.endswith(".") for p in pieces)
    assert " ".join(pieces).split() == text.split()
    blob = "x" * 9000  # no spaces at all: still cut
    assert [len(p) for p in split_text(blob, 4096)] == [4096, 4096, 808]


def test_citation_escapes_titles_and_urls() -> None:
    line = citation(1, "Rules [draft] *new*", "Outlet", date(2024, 2, 1), "https://e.org/a_(b)", limit=1024)
    assert line == r"[1] [Rules \[draft\] \*new\*](https://e.org/a_%28b%29) — Outlet, 2024-02-01"
    assert citation(2, "T", "O", None, "javascript:alert(1)", limit=100) == "[2] T — O, undated"
    long = citation(3, "T" * 5000, "O" * 500, None, "https://e.org/" + "p" * 3000, limit=1024)
    assert len(long) <= 1024


@pytest.mark.parametrize("text_len", [10, 4000, 4097, 9000, 30000])
@pytest.mark.parametrize("n_sources", [0, 1, 4, 30])
def test_answer_parts_always_fit(text_len: int, n_sources: int) -> None:
    sources = tuple(
        source(i, title="T" * 300, quote="q" * 2000, url="https://e.org/" + "u" * 700) for i in range(n_sources)
    )
    answer = Answer("Q" * 600, True, ("word " * text_len)[:text_len], sources=sources)
    parts = answer_parts(answer, footer="f" * 3000)
    for part in parts:
        payload = {"embeds": [e.to_dict() for e in part.embeds]}
        assert check_limits(part.embeds) == [] and message_problems(payload) == []
    described = " ".join(e.description or "" for p in parts for e in p.embeds)
    assert described.split() == answer.text.split()
    if n_sources:
        cited = "\n".join(f.value or "" for p in parts for e in p.embeds for f in e.fields)
        assert "[1] [" in cited


def test_sources_embed_quotes_within_limits() -> None:
    answer = Answer("q", True, "t", sources=tuple(source(i, quote="z " * 3000) for i in range(30)))
    embed = sources_embed(answer.to_json())
    assert check_limits([embed]) == [] and (embed.fields[0].value or "").startswith("> z z")
    assert sources_embed({"sources": []}).description == "This answer has no sources."


def test_search_embed_newest_first_with_links() -> None:
    hits = [
        hit("old", "Old", "https://e.org/old", date(2020, 1, 1), 0.9),
        hit("undated", "Undated", "https://e.org/u", None, 0.8),
        hit("new", "New", "https://e.org/new", date(2024, 1, 1), 0.1),
    ]
    lines = (search_embed("q", hits).description or "").splitlines()
    assert [line.split("]")[1].split("[")[-1] for line in lines] == ["New", "Old", "Undated"]
    assert "(https://e.org/new)" in lines[0]
    many = [hit(str(i), "T" * 300, "https://e.org/" + "x" * 100, None, 0) for i in range(200)]
    assert check_limits([search_embed("q" * 500, many)]) == []


def test_about_and_progress() -> None:
    stats = IndexStats("v1", 12, 40, 100, date(2024, 4, 20), date(2020, 1, 1), "2024-05-01T00:00:00", "m", "/d")
    fields = {f.name: f.value for f in about_embed(stats, running="x").fields}
    assert fields["Articles"] == "12" and fields["Newest article"] == "2024-04-20" and fields["Reindex running"] == "x"
    assert progress_bar(5, 10, width=10) == "▰▰▰▰▰▱▱▱▱▱ 50%"
    assert progress_bar(3, 0, width=4) == "▱▱▱▱ 0%"
    assert progress_text(BuildProgress("embedding", 30, 60)).startswith("step 2/4 embedding: ")
    assert progress_text(None) == "starting…"


def test_bare_urls_and_bidi_controls_are_made_inert_but_stay_readable() -> None:
    shown = plain("Log in at https://evil.example/login \u202eTXT.exe\u202c now")
    assert ":/" not in shown and "\u202e" not in shown
    assert shown.replace("\u200d", "") == "Log in at https://evil.example/login TXT.exe now"  # only a joiner added
    assert plain(plain("a https://x.example b")) == plain("a https://x.example b")  # stable when applied twice
