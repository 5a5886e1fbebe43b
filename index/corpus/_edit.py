"""Adding and removing articles (``/index add``, ``/index remove``): nothing reaches the corpus unless
the build's own loader parses it, files appear atomically, and a removed file moves to a trash
folder, so a mistaken removal is undone by moving it back."""

from __future__ import annotations

import os
import time
from pathlib import Path, PurePath
from urllib.parse import urlsplit

from index.corpus._html import extract_article
from index.corpus._read import SUFFIXES, article_id_for, iter_corpus_files, parse_article
from index.corpus._write import CorpusStems, free_stem, render_markdown, slugify, write_new
from index.errors import ArticleError


def safe_filename(filename: str) -> str:
    """A plain, lower-case file name (no folders, no hidden files) keeping the suffix."""
    name = PurePath(filename.replace("\\", "/")).name
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ArticleError(f"unsupported file type {suffix or '(none)'!r}; use .md, .txt or .html")
    stem = slugify(name[: -len(suffix)])
    if not stem:
        raise ArticleError("the file name has no usable characters")
    return stem + suffix


def add_article(corpus_dir: Path, filename: str, data: bytes) -> Path:
    """Validate ``data`` as the article file ``filename`` and write it into the corpus.

    Raises ArticleError (bad type, unparsable content, or an article with that id exists).
    """
    name = safe_filename(filename)
    target = corpus_dir / name
    article_id = article_id_for(target)
    if article_id in CorpusStems(corpus_dir):  # ids are unique across every folder
        raise ArticleError(f"an article with id {article_id!r} already exists; remove it first")
    parse_article(data, target, writing=True)  # the same parser the build uses, which need not parse it again
    return write_new(target, data)


def html_to_markdown(url: str, html: str) -> tuple[str, str]:
    """``(suggested file stem, Markdown with front matter)`` from a fetched page."""
    extracted = extract_article(html, url, min_words=5)
    if extracted is None:
        raise ArticleError("no article text found on that page")
    title = extracted.title or extracted.text.split("\n")[0][:200]
    markdown = render_markdown(
        title=title,
        source=extracted.sitename or urlsplit(url).hostname or "unknown",
        url=url,
        published=extracted.published,
        authors=extracted.authors,
        body=extracted.text,
    )
    stem = slugify(title) or slugify(urlsplit(url).path) or "article"
    return stem, markdown


def add_article_from_html(corpus_dir: Path, url: str, html: str) -> Path:
    """Extract the article from a web page and add it as Markdown (a free name is chosen)."""
    stem, markdown = html_to_markdown(url, html)
    name = free_stem(corpus_dir, stem, CorpusStems(corpus_dir))
    return add_article(corpus_dir, f"{name}.md", markdown.encode())


def remove_article(corpus_dir: Path, article_id: str, trash_dir: Path) -> Path:
    """Move the article's file into ``trash_dir`` (time-stamped); returns its new path."""
    return move_to_trash(find_article_file(corpus_dir, article_id), trash_dir)


def find_article_file(corpus_dir: Path, article_id: str) -> Path:
    """The corpus file that holds ``article_id`` (ArticleError when there is none)."""
    if not article_id or "/" in article_id or "\\" in article_id or article_id.startswith("."):
        raise ArticleError(f"not an article id: {article_id!r}")
    matches = (
        [p for p in iter_corpus_files(corpus_dir) if article_id_for(p) == article_id] if corpus_dir.is_dir() else []
    )
    if not matches:
        raise ArticleError(f"no article {article_id!r} in the corpus")
    return matches[0]


def move_to_trash(source: Path, trash_dir: Path) -> Path:
    """Move a corpus file into ``trash_dir`` under a time-stamped name; returns its new path."""
    trash_dir.mkdir(parents=True, exist_ok=True)
    target = trash_dir / f"{time.strftime('%Y%m%dT%H%M%S')}-{source.name}"
    n = 2
    while target.exists():
        target = trash_dir / f"{time.strftime('%Y%m%dT%H%M%S')}-{n}-{source.name}"
        n += 1
    try:
        os.replace(source, target)
    except OSError:  # another file system: copy then unlink, still never a plain delete first
        import shutil

        shutil.move(str(source), str(target))
    return target
