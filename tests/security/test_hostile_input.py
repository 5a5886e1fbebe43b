"""Hostile input, property-based (hypothesis, fixed budget, derandomized): article files, questions,
uploads and feed XML each get a clear result; nothing else is lost; article text never pings
anyone, forges or autolinks a link, or hides and reorders what it says in what the bot sends.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.errors import NO_PINGS
from bot.core.render import safe_url
from bot.features.answers.render import answer_parts, search_embed, sources_embed
from bot.features.feeds.announce import announcement_embed
from bot.features.feeds.cog import feed_line
from bot.features.watch.notify import watch_embed
from index.corpus._read import MAX_FILE_BYTES, load_corpus, parse_article
from index.engine import Engine, FeedState, FreshArticle
from index.errors import ArticleError, PolicybotError, QuestionError
from index.feeds._parse import FeedParseError, parse_feed
from index.settings import Settings
from index.types import Answer, ArticleHit, Citation, Source, Span
from measure.fakediscord import message_problems, pings
from tests.bot.discord_text import assert_inert, visible_texts
from tests.conftest import REPO, write_article
from tests.support.fakes import FakeEncoder

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


# ---- front-matter bombs and files that are not files (issue 19) -------------------------------
BODY = "The regulator fined the bank for reporting its ransomware incident late, officials said on Monday.\n"


def alias_bomb(levels: int) -> bytes:
    """A few hundred bytes of YAML whose aliases expand nine-fold per level (the "billion laughs")."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [" + ",".join([f"*l{n - 1}"] * 9) + "]")
    return ("---\n" + "\n".join(lines) + f"\ntitle: *l{levels - 1}\n---\n" + BODY).encode()


FRONT_MATTER_BOMBS = {
    "alias bomb": (alias_bomb(7), "anchors or aliases"),
    "3,000 nested brackets": (b"---\ntitle: " + b"[" * 3000 + b"x" + b"]" * 3000 + b"\n---\n" + BODY.encode(), "nested"),
    "nested flow maps": (b"---\ntitle: " + b"{a: " * 3000 + b"1" + b"}" * 3000 + b"\n---\n" + BODY.encode(), "nested"),
    "nested blocks": (("---\n" + "".join(" " * i + f"k{i}:\n" for i in range(300)) + "---\n" + BODY).encode(), "nested"),
    "oversized front matter": (b"---\ntitle: " + b"x" * 70_000 + b"\n---\n" + BODY.encode(), "longer than"),
    "a title that is a list": (b"---\ntitle: [a, b]\n---\n" + BODY.encode(), "'title' must be text"),
    "a title that is a mapping": (b"---\ntitle: {a: 1}\n---\n" + BODY.encode(), "'title' must be text"),
    "a 5,000-character title": (b"---\ntitle: " + b"x" * 5000 + b"\n---\n" + BODY.encode(), "'title' is longer"),
    "10,000 authors": (b"---\ntitle: T\nauthors: [" + b"a," * 10_000 + b"a]\n---\n" + BODY.encode(), "more than"),
    "an impossible date": (b"---\ntitle: T\npublished: 2024-13-45\n---\n" + BODY.encode(), "cannot read"),
    "a 5,000-digit number": (b"---\ntitle: " + b"9" * 5000 + b"\n---\n" + BODY.encode(), "cannot read"),
    "a float tag on text": (b"---\ntitle: !!float x\n---\n" + BODY.encode(), "cannot read"),
    "a timestamp tag on text": (b"---\ntitle: !!timestamp x\n---\n" + BODY.encode(), "cannot read"),
}


def test_front_matter_bombs_are_refused_with_a_reason_in_bounded_memory() -> None:
    """Measured in a child process: tracemalloc counts every thread's allocations, and other tests
    leave threads behind (the NER model loading in the background)."""
    import json
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import json, sys, tracemalloc
        from pathlib import Path
        from index.corpus._read import parse_article
        from index.errors import ArticleError
        from tests.security.test_hostile_input import FRONT_MATTER_BOMBS
        out = {}
        for name, (raw, _) in FRONT_MATTER_BOMBS.items():
            tracemalloc.start()
            try:
                parse_article(raw, Path("corpus/bomb.md"))
                reason = None
            except ArticleError as exc:
                reason = str(exc)
            out[name] = (reason, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        json.dump(out, sys.stdout)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout)
    for name, (raw, reason) in FRONT_MATTER_BOMBS.items():
        got, peak = results[name]
        assert len(raw) < 80_000
        assert got and re.search(reason, got), (name, got)
        assert peak < 10_000_000, (name, peak)  # PyYAML's own objects for a few thousand tokens, never an expansion


def test_the_feed_folding_reader_of_front_matter_is_bounded_too(tmp_path: Path) -> None:
    from index.feeds._dedup import read_front_matter

    path = tmp_path / "bomb.md"
    path.write_bytes(alias_bomb(7))
    with pytest.raises(ArticleError, match="anchors or aliases"):
        read_front_matter(path)


HTML_LAUGHS = (
    b'<!DOCTYPE html [<!ENTITY l0 "lol">'
    + b"".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">'.encode() for n in range(1, 10))
    + b"]>"
)


class FifoWriter:
    """A FIFO named like an article, with a writer ready to feed it a valid article: a reader that
    opens it gets that article (so the test sees it was read), one that does not leaves it idle."""

    def __init__(self, path: Path, text: str) -> None:
        import threading

        os.mkfifo(path)
        self.path = path
        self.thread = threading.Thread(target=self._write, args=(text.encode(),), daemon=True)
        self.thread.start()

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(OSError), open(self.path, "wb") as fh:  # blocks until a reader opens it
            fh.write(data)

    def close(self) -> None:
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # lets an idle writer through
        try:
            self.thread.join()
        finally:
            os.close(fd)


def hostile_corpus(corpus: Path, outside: Path) -> tuple[set[str], dict[str, str], list[FifoWriter]]:
    """Good articles, and one file of each hostile kind with the reason it must be skipped for."""
    good = {f"good{n}" for n in range(3)}
    for name in good:
        write_article(corpus, name, f"The regulator {name} fined a bank for late incident reports to the agency.")
    (corpus / ".data").mkdir()  # a hidden folder the walk skips, as a mounted config map has
    write_article(corpus / ".data", "linked", "A linked article about the new incident reporting rule for banks.")
    (corpus / "linked.md").symlink_to(corpus / ".data" / "linked.md")  # inside the corpus: read
    good.add("linked")
    secret = outside / "secret.md"
    secret.write_text("---\ntitle: Secret\n---\nDISCORD_TOKEN=abc123 is the bot's secret token, never to be quoted.\n")
    bad = {name: reason for name, (raw, reason) in FRONT_MATTER_BOMBS.items() if False}
    for n, (raw, reason) in enumerate(FRONT_MATTER_BOMBS.values()):
        (corpus / f"bomb{n}.md").write_bytes(raw)
        bad[f"bomb{n}.md"] = reason
    files = {
        "empty.md": (b"", "empty"),
        "blank.txt": (b"\n \n", "empty"),
        "latin1.txt": ("Titre\nLe r\xe9gulateur a inflig\xe9 une amende \xe0 la banque.".encode("latin-1"), "not UTF-8"),
        "binary.html": (bytes(range(256)) * 4, "not UTF-8|binary"),
        "brackets.md": (b"---\ntitle: T\n---\n" + BODY.encode() + b"[" * 20_000 + b"\n", None),
        "deep.html": (("<html><body>" + "<div>" * 20_000 + f"<p>{BODY}</p>").encode(), "no article text"),
        "entities.html": (HTML_LAUGHS + f"<html><body><article><p>&lol9; {BODY}</p></article></body></html>".encode(), None),
    }
    for name, (raw, reason) in files.items():
        (corpus / name).write_bytes(raw)
        if reason is not None:
            bad[name] = reason
        else:
            good.add(name.rsplit(".", 1)[0])
    (corpus / "outside.md").symlink_to(secret)
    bad["outside.md"] = "outside the corpus"
    (corpus / "dangling.md").symlink_to(outside / "nothing.md")
    bad["dangling.md"] = "link to nothing"
    (corpus / "folder.md").mkdir()  # a folder named like an article is just a folder
    write_article(corpus / "folder.md", "nested", "A nested article about a fine for a late incident report.")
    good.add("nested")
    fifos = [FifoWriter(corpus / "pipe.md", "---\ntitle: Piped\n---\nA piped article about fines that must never be read.\n")]
    bad["pipe.md"] = "not a regular file"
    return good, bad, fifos


def test_one_hostile_file_of_each_kind_is_skipped_by_name_and_the_build_goes_on(tmp_path: Path) -> None:
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    outside.mkdir()
    corpus.mkdir()
    good, bad, fifos = hostile_corpus(corpus, outside)
    try:
        engine = Engine(Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=corpus), embedder=FakeEncoder())
        report = engine.build()
        reasons = dict(report.errors)
        assert set(reasons) == set(bad), set(reasons) ^ set(bad)
        for name, reason in bad.items():
            assert re.search(reason, reasons[name]), (name, reasons[name])
        assert {a.citation.article_id for a in engine.articles()} == good
        assert "abc123" not in " ".join(h.snippet for h in engine.search("bot secret token DISCORD_TOKEN", k=20))
        assert "lollol" not in " ".join(h.snippet for h in engine.search("regulator fined bank lol", k=20))
        assert engine.search("piped article fines", k=20)[0].citation.article_id != "pipe"

        # the increment reads named files: the same refusals, and no FIFO is ever opened
        changed = [corpus / name for name in bad]
        again = engine.build(changed=changed)
        assert {name for name, _ in again.errors} == set(bad)
        assert {a.citation.article_id for a in engine.articles()} == good
    finally:
        for fifo in fifos:
            fifo.close()


def test_pathological_markup_costs_one_pass_not_one_per_character(tmp_path: Path) -> None:
    """Run in a child whose CPU time is capped far above what one pass costs: the quadratic readers
    (a tag's attributes checked against each other, a link pattern restarted at every bracket) ran
    for many minutes on these few megabytes. Uploads and pages added by URL share the readers."""
    import resource
    import subprocess
    import sys
    import textwrap

    files = {
        "attributes.html": "<html><body><article><p " + " ".join(f'a{i}="x"' for i in range(200_000)) + f">{BODY}</p></article></body></html>",
        "brackets.md": f"---\ntitle: T\n---\n{BODY}" + "[" * 400_000 + "\n",
        "images.md": f"---\ntitle: T\n---\n{BODY}" + "![" * 200_000 + "\n",
        "links.md": f"---\ntitle: T\n---\n{BODY}" + "[a](" * 200_000 + "\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from index.corpus._read import load_article
        from index.corpus._edit import html_to_markdown
        for name in {sorted(files)!r}:
            article = load_article(Path({str(tmp_path)!r}) / name)
            print(name, "fined the bank" in article.text)
        page = (Path({str(tmp_path)!r}) / "attributes.html").read_text()  # /index add of a fetched page
        print("page", "fined the bank" in html_to_markdown("https://news.example/a", page)[1])
        """
    )

    def cap_cpu() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (60, 60))

    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, preexec_fn=cap_cpu, cwd=REPO, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == [w for name in [*sorted(files), "page"] for w in (name, "True")]


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
        ("bomb.md", alias_bomb(7), "anchors or aliases"),
        ("deep.md", FRONT_MATTER_BOMBS["3,000 nested brackets"][0], "nested"),
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
