"""Hostile input, property-based (hypothesis, fixed budget, derandomized): questions and feed XML each
get a clear result; article text never pings anyone, forges or autolinks a link, or hides and
reorders what it says in what the bot sends. Article files and uploads: ``test_hostile_files.py``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.errors import NO_PINGS
from bot.core.render import safe_url
from bot.features.answers.render import answer_parts, search_embed, sources_embed
from bot.features.feeds.announce import announcement_embed
from bot.features.feeds.cog import feed_line
from bot.features.watch.notify import watch_embed
from index import Engine, FeedState, FreshArticle
from index.errors import QuestionError
from index.feeds._parse import FeedParseError, parse_feed
from index.settings import Settings
from index.types import Answer, ArticleHit, Citation, Source, Span
from tests.security.hostile import BUDGET, assert_safe, hostile_text, payloads
from tests.support.articles import write_article
from tests.support.fakes import FakeEncoder


@BUDGET
@given(
    text=hostile_text,
    title=hostile_text,
    outlet=hostile_text,
    url=st.sampled_from(
        ["https://ok.example/a", "javascript:alert(1)", "https://ok.example/a)[x](https://evil.example", "",
         "https://ok.example/\u202e/a"]
    ),
)
def test_article_text_never_pings_or_forges_a_link_when_rendered(text: str, title: str, outlet: str, url: str) -> None:
    spans = (Span(0, min(5, len(text)), "name"),)
    citation = Citation("a1", title, outlet, url, date(2024, 1, 2))
    answer = Answer("<@1> who? @here", True, text, spans, (Source(citation, text, 0.9),))
    allowed = {u for u in [safe_url(url)] if u}
    for part in answer_parts(answer, footer="[f](https://evil.example)"):
        assert_safe(payloads(part.embeds), allowed)
    assert_safe(payloads([search_embed(text, [ArticleHit(citation, 0.5, text)])]), allowed)
    assert_safe(payloads([sources_embed(answer.to_json())]), allowed)  # the Sources button
    fresh = FreshArticle("a1", title, outlet, url, date(2024, 1, 2), text, summary_only=False)
    assert_safe(payloads([announcement_embed([fresh, fresh])]), allowed)  # new articles in a channel
    assert_safe(payloads([watch_embed([(text, [fresh])])]), allowed)  # the /watch DM
    when = datetime(2024, 1, 2, tzinfo=UTC)
    feed = FeedState(title, text, 60, True, None, None, when, outlet, when, 1, when, 3, 1, when, item_errors=text)
    listed = {"content": feed_line(feed), "embeds": [], "allowed_mentions": NO_PINGS.to_dict()}
    assert_safe(listed, set())  # /feeds list: not even the feed's own URL links
    assert "items not ingested" in feed_line(feed)  # a hostile item's error is shown, inert


# ---- questions ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root = tmp_path_factory.mktemp("hostile-q")
    write_article(root / "corpus", "ivanti", "CISA ordered agencies to disconnect Ivanti appliances within 48 hours.")
    write_article(root / "corpus", "cra", "The EU adopted the Cyber Resilience Act for connected products in 2024.")
    e = Engine(Settings(_env_file=None, data_dir=root / "data", corpus_dir=root / "corpus"), embedder=FakeEncoder())
    e.build()
    return e


QUESTION_PARTS = [
    "\x00", "\x07", "\x1b[31m", "\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "@everyone", "<@123>", "<@&9>",
    "<#42>", "[x](https://evil.example)", "?!.,;:", "😀" * 500, "Ivanti", "who ordered", "**", "\n\n",
]


@BUDGET
@given(question=st.one_of(st.lists(st.sampled_from(QUESTION_PARTS), max_size=8).map("".join), st.text(max_size=600)))
def test_any_question_gets_an_answer_or_a_clear_refusal(engine: Engine, question: str) -> None:
    try:
        answer = engine.ask(question)
    except QuestionError as exc:
        assert str(exc).startswith("Please")
        return
    shown = answer.question
    assert not re.search("[\x00-\x08\x0e-\x1f\u202a-\u202e\u2066-\u2069\u200b\ufeff]", shown)
    allowed = {"https://example.org/ivanti", "https://example.org/cra"}
    for part in answer_parts(answer):
        assert_safe(payloads(part.embeds), allowed)


def test_punctuation_emoji_and_mention_only_questions_are_refused_clearly(engine: Engine) -> None:
    for q in ["?!?!?!", "😀" * 500, "\u200b\u200b\u200b\u200b", "\u202e\u202e\u202e", "<@>", "   "]:
        with pytest.raises(QuestionError, match="Please"):
            engine.ask(q)


# ---- feed XML -----------------------------------------------------------------------------------
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>&lol3;</title><item><title>&lol3;</title><link>http://x/1</link></item></channel></rss>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>t</title><item><title>&xxe;</title><link>http://x/1</link></item></channel></rss>"""
XXE_PARAM = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://169.254.169.254/latest/meta-data/"> %p;]>
<rss version="2.0"><channel><title>t</title></channel></rss>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, XXE, XXE_PARAM, BILLION_LAUGHS.decode().encode("utf-16")])
def test_entity_attacks_in_feeds_are_refused(xml: bytes) -> None:
    with pytest.raises(FeedParseError, match="entities"):
        parse_feed(xml)


@BUDGET
@given(
    data=st.one_of(
        st.binary(max_size=500),
        st.tuples(hostile_text, hostile_text).map(
            lambda p: f"<rss version='2.0'><channel><title>{p[0]}</title><item><title>{p[1]}</title>"
            f"<link>http://x.example/1</link><description>{p[0]}</description></item></channel></rss>".encode()
        ),
    )
)
def test_any_feed_bytes_parse_or_are_refused_with_a_reason(data: bytes) -> None:
    try:
        feed = parse_feed(data)
    except FeedParseError as exc:
        assert str(exc)
        return
    for item in feed.items:
        assert "<script" not in item.summary.lower()
