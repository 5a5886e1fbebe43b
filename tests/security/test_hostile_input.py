"""Hostile input, property-based (hypothesis, fixed budget, derandomized): article files, questions,
uploads and feed XML each get a clear result; nothing else is lost; article text never pings
anyone, forges or autolinks a link, or hides and reorders what it says in what the bot sends.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.announce import announcement_embed, watch_embed
from bot.cogs.feeds import feed_line
from bot.errors import NO_PINGS
from bot.render import answer_parts, safe_url, search_embed, sources_embed
from index.corpus import MAX_FILE_BYTES, load_corpus, parse_article
from index.engine import Engine, FeedState, FreshArticle
from index.errors import ArticleError, PolicybotError, QuestionError
from index.feeds.parse import FeedParseError, parse_feed
from index.models import Answer, ArticleHit, Citation, Source, Span
from index.settings import Settings
from tests.bot.discord_text import assert_inert, visible_texts
from tests.bot.fakediscord import message_problems, pings
from tests.conftest import write_article
from tests.fakes import FakeEncoder

BUDGET = settings(
    max_examples=50, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

INJECTIONS = [
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&987654321098765432>",
    "[click here](https://evil.example/steal)",
    "[https://good.example](https://evil.example)",
    "<https://evil.example>",
    "**bold** __underline__ ~~strike~~ ||spoiler|| `code` > quote",
    "```\ncode block\n```",
    "# Heading",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "\u202eevil\u202c",
    "\u200b@\u200beveryone",
    # bare URLs: Discord autolinks ``scheme://`` in content and embeds, and ``<scheme:/…>``
    "https://evil.example/login",
    "HTTP://EVIL.EXAMPLE/a_b(c)",
    "see http://evil.example.",
    "steam://run/1",
    "<https:/evil.example>",
    "h\u200bttps://evil.example",  # invisible characters that vanish on the way must not join a URL back up
    "https:/\u200b/evil.example",
    "https:\u2060//evil.example",
    # bidi controls and other invisible characters
    "\u202a\u202b\u202d\u202e\u202c",
    "\u2066\u2067\u2068\u2069",
    "\u200e\u200f\u061c",
    "moc.elpmaxe\u202e//:sptth",
    "\ufeff\u00ad\u2063\U000e0041\u3164",
]
hostile_text = st.lists(
    st.one_of(st.sampled_from(INJECTIONS), st.text(min_size=1, max_size=40)), min_size=1, max_size=12
).map(" ".join)


# ---- what the bot sends: the payload discord.py builds, checked as Discord would read it -------
def payloads(embeds: list[discord.Embed]) -> dict[str, Any]:
    return {"embeds": [e.to_dict() for e in embeds], "allowed_mentions": NO_PINGS.to_dict()}


LINK = re.compile(r"(?<!\\)\[((?:[^\[\]\\]|\\.)*)(?<!\\)\]\(([^)\s]*)\)")
BARE_MENTION = re.compile(r"(?<!\\)@(everyone|here)|<@[!&]?\d+>")


def links(payload: dict[str, Any]) -> set[str]:
    """Every Markdown link target in the embeds' descriptions and field values (where links render)."""
    texts = [e.get("description") or "" for e in payload["embeds"]]
    texts += [f.get("value") or "" for e in payload["embeds"] for f in e.get("fields") or []]
    return {m.group(2) for t in texts for m in LINK.finditer(t)}


def assert_safe(payload: dict[str, Any], allowed_links: set[str]) -> None:
    assert not message_problems(payload), message_problems(payload)
    assert pings(payload) == set()  # nobody is notified, whatever the text says
    assert links(payload) <= allowed_links, links(payload) - allowed_links  # only the articles' own URLs link
    assert_inert(visible_texts(payload), allowed_links)  # no bare URL links, nothing hides or reorders text


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


# ---- article files: parse_article and the build ---------------------------------------------
FRONT = ["---\ntitle: T\n", "---\ntitle: [unclosed\n---\n", "---\n: : :\n---\n", "---\n!!python/object:os.system x\n---\n",
         "---\na: &a [*a, *a, *a]\nb: &b [*a, *a]\n---\n", "---\ntitle: 12\npublished: not-a-date\n---\n"]


@BUDGET
@given(
    raw=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8")),
        st.tuples(st.sampled_from(FRONT), hostile_text).map(lambda p: (p[0] + p[1]).encode()),
        hostile_text.map(lambda t: t.encode("utf-16")),
        hostile_text.map(lambda t: t.encode("latin-1", "replace")),
    ),
    suffix=st.sampled_from([".md", ".txt", ".html", ".htm", ".pdf", ""]),
)
def test_any_article_file_parses_or_is_refused_with_a_reason(raw: bytes, suffix: str) -> None:
    try:
        article = parse_article(raw, Path(f"corpus/x{suffix}"))
    except ArticleError as exc:
        assert str(exc)  # a reason the build reports next to the file name
        return
    assert article.title and len(article.text.split()) >= 5


def test_oversized_binary_and_odd_files_are_reported_by_name_and_nothing_else_is_lost(tmp_path: Path) -> None:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    good = {f"good{n}" for n in range(3)}
    for name in good:
        write_article(corpus, name, f"The regulator {name} fined a bank for late incident reports to the agency.")
    bad = {
        "empty.md": b"",
        "binary.md": bytes(range(256)) * 4,
        "huge.txt": b"Title\n" + b"word " * ((MAX_FILE_BYTES // 5) + 10),  # over the 20 MB-class cap
        "utf16.md": "---\ntitle: x\n---\nbody text in another encoding here".encode("utf-16"),
        "broken.md": b"---\ntitle: [unclosed\n---\nSome body text that is long enough here.",
        "nul.txt": b"Title\nsome text\x00with a NUL byte inside it here",
    }
    for name, raw in bad.items():
        (corpus / name).write_bytes(raw)
    (corpus / "hostile.html").write_text(
        "<html><head><title>Hostile @everyone</title><script>fetch('https://evil.example')</script></head><body>"
        "<article><p>The agency <@&123> warned @here that [click](https://evil.example) ||spoilers|| and **bold** "
        "claims in the ransomware advisory were false, officials said on Monday.</p></article></body></html>"
    )
    articles, errors = load_corpus(corpus)
    assert {name for name, _ in errors} == set(bad)
    assert all(reason for _, reason in errors)
    assert {a.id for a in articles} == good | {"hostile"}
    hostile = next(a for a in articles if a.id == "hostile")
    assert "fetch(" not in hostile.text and "script" not in hostile.text  # scripts are not article text
    engine = Engine(Settings(_env_file=None, data_dir=data, corpus_dir=corpus), embedder=FakeEncoder())
    report = engine.build()
    assert {name for name, _ in report.errors} == set(bad) and report.articles == len(good) + 1
    answer = engine.ask("What did the agency warn about the ransomware advisory?")
    assert answer.sources
    allowed = {u for a in articles if (u := safe_url(a.url))}
    for part in answer_parts(answer):
        assert_safe(payloads(part.embeds), allowed)


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


# ---- uploads (/index add file:) ---------------------------------------------------------------
def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("article.html", "<html><body><p>" + "text " * 50 + "</p></body></html>")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("report.pdf", b"%PDF-1.7 ...", "unsupported file type"),
        ("archive.zip", zip_bytes(), "unsupported file type"),
        ("disguised.html", zip_bytes(), "not UTF-8|binary"),
        ("oversized.md", b"---\ntitle: x\n---\n" + b"word " * (MAX_FILE_BYTES // 5 + 1), "larger than"),
        ("../../etc/passwd.md", b"---\ntitle: T\n---\nA short body of text with enough words here.", None),
        (".hidden.md", b"---\ntitle: T\n---\nA short body of text with enough words here.", None),
        ("empty.txt", b"", "empty|no title"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_escapes_the_corpus(
    tmp_path: Path, filename: str, data: bytes, reason: str | None
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    engine = Engine(Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=corpus), embedder=FakeEncoder())
    if reason is None:  # a path in the name: kept inside the corpus under a plain name
        path = engine.add_file(filename, data)
        assert path.parent == corpus and not path.name.startswith(".")
        return
    with pytest.raises(PolicybotError, match=reason):
        engine.add_file(filename, data)
    assert list(corpus.iterdir()) == []


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
