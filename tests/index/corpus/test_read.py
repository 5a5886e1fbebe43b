"""Reading articles: every supported format, and clear reasons for every kind of bad file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from index.corpus._read import load_article, load_corpus, parse_article
from index.errors import ArticleError
from tests.support.articles import write_article


def test_markdown_front_matter_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text(
        "---\ntitle: Pipeline hit\nsource: Wire\nurl: https://x.test/a\npublished: 2021-05-08\n"
        "authors: [A. Writer, B. Writer]\ntags: ransomware, energy\n---\n# Heading\nThe pipeline shut down after "
        "a **ransomware** attack on [its systems](https://x.test).\n"
    )
    article = load_article(path)
    assert article.id == "a"
    assert article.title == "Pipeline hit"
    assert article.source == "Wire"
    assert article.published == date(2021, 5, 8)
    assert article.authors == ("A. Writer", "B. Writer")
    assert article.tags == ("ransomware", "energy")
    assert "**" not in article.text and "](" not in article.text
    assert "ransomware attack on its systems" in article.text
    assert len(article.content_hash) == 64


def test_txt_first_line_is_the_title(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Ministers agree cyber rules\nThe ministers agreed new cyber rules on Tuesday in Brussels.\n")
    article = load_article(path)
    assert article.title == "Ministers agree cyber rules"
    assert article.text.startswith("The ministers agreed")
    assert article.published is None


def test_html_main_text_is_extracted(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    body = " ".join(["Regulators published the new incident reporting rule on Monday."] * 3)
    path.write_text(
        "<html><head><title>Rule published</title></head><body><nav>Home | About | Login</nav>"
        f"<article><h1>Rule published</h1><p>{body}</p><p>Companies have four days to report.</p></article>"
        "<footer>Copyright footer text</footer></body></html>"
    )
    article = load_article(path)
    assert "four days to report" in article.text
    assert "Login" not in article.text
    assert article.title == "Rule published"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"---\ntitle: [unclosed\n---\nSome body text that is long enough.\n", "not valid YAML"),
        (b"---\ntitle: x\nSome body text that never closes the front matter.\n", "not closed"),
        (b"---\ntitle: x\npublished: last tuesday\n---\nSome body text that is long enough here.\n", "ISO date"),
        (b"---\ntitle: x\n---\nshort\n", "fewer than 5 words"),
        (b"\xff\xfe\x00bad bytes", "UTF-8"),
        (b"---\n- a\n- b\n---\nSome body text that is long enough here.\n", "mapping"),
    ],
)
def test_bad_files_raise_a_clear_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason):
        parse_article(content, tmp_path / "bad.md")


def test_load_corpus_skips_bad_files_and_goes_on(tmp_path: Path) -> None:
    write_article(tmp_path, "good-one", "The agency issued a directive to pipeline operators on Friday.")
    (tmp_path / "broken.md").write_text("---\ntitle: [oops\n---\nText that is long enough to count.\n")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF")
    (tmp_path / ".hidden.md").write_text("---\ntitle: hidden\n---\nA hidden draft that must not be read.\n")
    articles, errors = load_corpus(tmp_path)
    assert [a.id for a in articles] == ["good-one"]
    assert sorted(name for name, _ in errors) == ["broken.md", "empty.txt"]
    assert all(reason for _, reason in errors)


def test_missing_corpus_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="does not exist"):
        load_corpus(tmp_path / "nope")


def test_content_hash_changes_with_text_only(tmp_path: Path) -> None:
    p = write_article(tmp_path, "a", "The first version of the story text is here.")
    h1 = load_article(p).content_hash
    p.touch()
    assert load_article(p).content_hash == h1
    write_article(tmp_path, "a", "The second version of the story text is here.")
    assert load_article(p).content_hash != h1


def test_corpus_stems_see_every_folder_without_listing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Article ids are unique across the corpus: a new file's name must avoid a stem used in any
    folder, with any article suffix, and names written meanwhile."""
    from index.corpus import _read as corpus_module
    from index.corpus._write import CorpusStems, free_stem

    corpus = tmp_path / "corpus"
    (corpus / "feeds" / "wire").mkdir(parents=True)
    (corpus / ".trash").mkdir()
    (corpus / "feeds" / "wire" / "budget-vote.md").write_text("x")
    (corpus / "budget-vote-2.TXT").write_text("x")
    (corpus / ".trash" / "budget-vote-3.md").write_text("x")  # hidden: the loader does not see it
    (corpus / "budget-vote-4.pdf").write_text("x")  # not an article
    for name in ("iter_corpus_files", "corpus_file_names"):
        monkeypatch.setattr(corpus_module, name, lambda _: (_ for _ in ()).throw(AssertionError("listed files")))
    stems = CorpusStems(corpus)
    assert "budget-vote" in stems and "budget-vote-2" in stems
    assert "budget-vote-3" not in stems and "budget-vote-4" not in stems
    assert free_stem(corpus / "added", "budget-vote", stems) == "budget-vote-3"
    stems.add("budget-vote-3")
    assert free_stem(corpus / "added", "budget-vote", stems) == "budget-vote-4"
