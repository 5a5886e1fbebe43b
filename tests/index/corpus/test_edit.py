"""index.corpus._edit: nothing unparsable reaches the corpus, and removal never deletes."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.corpus._edit import add_article, add_article_from_html, remove_article, safe_filename
from index.corpus._read import load_article, load_corpus
from index.errors import ArticleError

GOOD = b"""---
title: Agency publishes new SBOM rules
source: Supply Chain Daily
url: https://supplychain.example.com/sbom
published: 2024-05-02
---
The agency published rules requiring vendors to deliver a software bill of materials by January 2025.
"""

PAGE = """<html><head><title>Page | Lowlands Ledger</title><meta property="og:site_name" content="Lowlands Ledger">
<meta name="date" content="2024-06-07"></head><body><nav>Home | News | Login</nav><article>
<h1>Dutch regulator fines telecom over breach reporting</h1>
<p>The Dutch telecom regulator fined Polder Telecom 600,000 euros for reporting a data breach nine days late.</p>
<p>The regulator said operators must report breaches within seventy-two hours.</p></article>
<footer>Cookie settings</footer></body></html>"""


def test_add_article_validates_then_writes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    path = add_article(corpus, "../../SBOM Rules!.md", GOOD)
    assert path == corpus / "sbom-rules.md" and path.read_bytes() == GOOD
    assert load_article(path).title == "Agency publishes new SBOM rules"
    assert [p.name for p in corpus.iterdir()] == ["sbom-rules.md"]  # no temporary files left behind


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("a.md", b"---\ntitle: [unclosed\n---\nbody text with enough words here", "not valid YAML"),
        ("a.md", b"---\ntitle: x\n---\ntoo short", "fewer than 5 words"),
        ("a.txt", b"\xff\xfe\x00binary", "UTF-8"),
        ("a.pdf", GOOD, "unsupported file type"),
        (".md", GOOD, "unsupported file type"),
    ],
)
def test_add_article_refuses_bad_files(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason):
        add_article(tmp_path / "corpus", name, data)
    assert not (tmp_path / "corpus").exists() or not list((tmp_path / "corpus").iterdir())


def test_add_article_never_overwrites(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    add_article(corpus, "same.md", GOOD)
    with pytest.raises(ArticleError, match="already exists"):
        add_article(corpus, "SAME.txt", b"Title line\n\nSome other body text that is long enough.")
    assert (corpus / "same.md").read_bytes() == GOOD


def test_add_article_from_html_extracts_text_and_metadata(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    first = add_article_from_html(corpus, "https://ledger.example.nl/fine", PAGE)
    second = add_article_from_html(corpus, "https://ledger.example.nl/fine-again", PAGE)
    assert first.name == "dutch-regulator-fines-telecom-over-breach-reporting.md"
    assert second.name == "dutch-regulator-fines-telecom-over-breach-reporting-2.md"
    article = load_article(first)
    assert article.source == "Lowlands Ledger" and article.url == "https://ledger.example.nl/fine"
    assert str(article.published) == "2024-06-07" and "600,000 euros" in article.text
    assert "Cookie" not in article.text and "Login" not in article.text
    with pytest.raises(ArticleError, match="no article text"):
        add_article_from_html(corpus, "https://x.example/", "<html><body><p>Hi</p></body></html>")


def test_remove_article_moves_to_trash(tmp_path: Path) -> None:
    corpus, trash = tmp_path / "corpus", tmp_path / "data" / "trash"
    add_article(corpus, "keep.md", GOOD)
    add_article(corpus, "gone.md", GOOD)
    moved = remove_article(corpus, "gone", trash)
    assert moved.parent == trash and moved.read_bytes() == GOOD and moved.name.endswith("-gone.md")
    assert [a.id for a in load_corpus(corpus)[0]] == ["keep"]
    for bad in ("gone", "../keep", "", ".hidden"):
        with pytest.raises(ArticleError):
            remove_article(corpus, bad, trash)


def test_safe_filename() -> None:
    assert safe_filename("C:\\Users\\x\\My Article.HTML") == "my-article.html"
    with pytest.raises(ArticleError):
        safe_filename("!!!.md")
