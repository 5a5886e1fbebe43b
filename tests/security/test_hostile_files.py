"""Hostile article files and uploads, property-based and by kind: any bytes parse or are refused with a
reason; front-matter bombs stay bounded; files that are not files (FIFOs, links out, devices) and
pathological markup are skipped by name or cost one pass, and the build goes on with the rest;
a bad upload is refused and nothing escapes the corpus.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.render import safe_url
from bot.features.answers.render import answer_parts
from index.corpus._read import MAX_FILE_BYTES, load_corpus, parse_article
from index.engine import Engine
from index.errors import ArticleError, PolicybotError
from index.settings import Settings
from tests.security.hostile import BUDGET, assert_safe, hostile_text, payloads
from tests.support import REPO
from tests.support.articles import write_article
from tests.support.fakes import FakeEncoder

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
        from tests.security.test_hostile_files import FRONT_MATTER_BOMBS
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
        article_id = engine.corpus.add_file(filename, data)
        assert [p.name for p in corpus.iterdir()] == [f"{article_id}{Path(filename).suffix.lower()}"]
        assert not article_id.startswith(".")
        return
    with pytest.raises(PolicybotError, match=reason):
        engine.corpus.add_file(filename, data)
    assert list(corpus.iterdir()) == []
