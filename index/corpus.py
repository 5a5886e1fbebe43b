"""Reading articles from ``corpus/``: Markdown with YAML front matter, plain text, and HTML.

A file that cannot be read raises :class:`ArticleError` naming the reason; ``load_corpus`` collects
those and goes on, so one bad file never stops a build.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from index.errors import ArticleError
from index.models import Article

SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
MAX_FILE_BYTES = 5_000_000
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)


def article_id_for(path: Path) -> str:
    """Stable id: the file name without its suffix (unique within one corpus folder)."""
    return path.stem


def corpus_file_names(corpus_dir: Path) -> list[str]:
    """Article files as path strings, in a stable order (by path parts: each folder's entries by
    name); hidden files and folders and other suffixes are ignored, symlinked folders are not
    followed. One ``scandir`` per folder and no per-file stat or ``Path``: at a million files the
    walk is the floor of every full build's cost."""
    found: list[str] = []

    def visit(folder: str) -> None:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                visit(entry.path)
            elif os.path.splitext(name)[1].lower() in SUFFIXES and entry.is_file():
                found.append(entry.path)

    if os.path.isdir(corpus_dir):
        visit(str(corpus_dir))
    return found


def iter_corpus_files(corpus_dir: Path) -> Iterator[Path]:
    """:func:`corpus_file_names` as paths."""
    for name in corpus_file_names(corpus_dir):
        yield Path(name)


def load_corpus(
    corpus_dir: Path, reuse: Callable[[str], Article | None] | None = None
) -> tuple[list[Article], list[tuple[str, str]]]:
    """All readable articles, plus ``(file name, reason)`` for each file that was skipped.

    ``reuse(path)`` may give a file's article without reading it (index.corpus_scan: unchanged
    files); when it returns None the file is read. Duplicate ids are refused either way.
    """
    if not corpus_dir.is_dir():
        raise ArticleError(f"corpus folder {corpus_dir} does not exist")
    articles: list[Article] = []
    errors: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    prefix = len(str(corpus_dir)) + 1  # corpus_file_names joins onto str(corpus_dir)
    for path in corpus_file_names(corpus_dir):
        name = path[prefix:]
        article = reuse(path) if reuse is not None else None
        if article is None:
            try:
                article = load_article(Path(path))
            except ArticleError as exc:
                errors.append((name, str(exc)))
                continue
        if article.id in seen:
            errors.append((name, f"duplicate article id {article.id!r} (also {os.path.basename(seen[article.id])})"))
            continue
        seen[article.id] = path
        articles.append(article)
    return articles, errors


def load_article(path: Path) -> Article:
    """Parse one file by its suffix."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"cannot read file: {exc.strerror or exc}") from exc
    return parse_article(raw, path)


def parse_article(raw: bytes, path: Path) -> Article:
    """Parse bytes as the article file ``path`` (used to validate uploads before writing them)."""
    if len(raw) > MAX_FILE_BYTES:
        raise ArticleError(f"file is larger than {MAX_FILE_BYTES // 1_000_000} MB")
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"not UTF-8 text (byte {exc.start})") from exc
    if "\x00" in content:
        raise ArticleError("binary file (contains NUL bytes)")
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown"):
        meta, body = _split_front_matter(content)
    elif suffix == ".txt":
        meta, body = _parse_txt(content)
    elif suffix in (".html", ".htm"):
        meta, body = _parse_html(content)
    else:
        raise ArticleError(f"unsupported file type {suffix!r}")
    body = _clean_markdown(body)
    title = _text_field(meta, "title") or _first_line(body)
    if not title:
        raise ArticleError("no title")
    if len(body.split()) < 5:
        raise ArticleError("no article text (fewer than 5 words)")
    published = _parse_date(meta.get("published") or meta.get("date"))
    article_id = article_id_for(path)
    digest = hashlib.sha256(
        "\x1f".join([title, str(published), _text_field(meta, "source"), body]).encode()
    ).hexdigest()
    return Article(
        id=article_id,
        path=str(path),
        title=title,
        source=_text_field(meta, "source") or "unknown",
        url=_text_field(meta, "url"),
        published=published,
        text=body,
        authors=_list_field(meta, "authors"),
        tags=_list_field(meta, "tags"),
        content_hash=digest,
    )


def _split_front_matter(content: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(content)
    if not match:
        if content.lstrip().startswith("---"):
            raise ArticleError("front matter is not closed with a '---' line")
        return {}, content
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ArticleError(f"front matter is not valid YAML ({problem})") from exc
    if not isinstance(meta, dict):
        raise ArticleError("front matter is not a mapping of fields")
    return meta, content[match.end() :]


def _parse_txt(content: str) -> tuple[dict[str, Any], str]:
    """The first line is the title, unless it is a photo caption (as in wire copy pasted whole):
    then the whole text is the body, caption included, and the first story sentence names it."""
    from index.chunking import CAPTION, paragraph_kind, split_sentences

    lines = content.strip().splitlines()
    if not lines:
        raise ArticleError("empty file")
    if paragraph_kind(lines[0].strip(), last=False) == CAPTION and len(lines) > 1:
        story = split_sentences("\n".join(lines[1:]))
        title = story[0] if story else lines[0]
        return {"title": title[:200].rstrip()}, "\n".join(lines)
    return {"title": lines[0].strip()}, "\n".join(lines[1:])


def _parse_html(content: str) -> tuple[dict[str, Any], str]:
    import trafilatura  # imported lazily: it is slow to import and only HTML needs it

    try:
        doc = trafilatura.bare_extraction(content, include_comments=False, with_metadata=True)
    except Exception as exc:  # trafilatura raises many kinds on broken markup
        raise ArticleError(f"HTML could not be parsed: {exc}") from exc
    if doc is None:
        raise ArticleError("no article text found in the HTML")
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    body = data.get("text") or ""
    meta = {
        "title": data.get("title"),
        "source": data.get("sitename") or data.get("hostname"),
        "url": data.get("url"),
        "published": data.get("date"),
        "authors": data.get("author"),
    }
    return {k: v for k, v in meta.items() if v}, body


def _clean_markdown(body: str) -> str:
    """Drop Markdown syntax that would otherwise end up inside quoted sentences."""
    lines = []
    for line in body.splitlines():
        line = re.sub(r"^\s{0,3}#{1,6}\s+", "", line)
        line = re.sub(r"^\s*[-*+]\s+", "", line)
        line = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", line)
        line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)
        line = re.sub(r"(\*\*|__)(.+?)\1", r"\2", line)
        lines.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _text_field(meta: dict[str, Any], key: str) -> str:
    value = meta.get(key)
    return " ".join(str(value).split()) if value is not None else ""


def _list_field(meta: dict[str, Any], key: str) -> tuple[str, ...]:
    value = meta.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        items = [v.strip() for v in re.split(r"[;,]", value)]
    elif isinstance(value, list):
        items = [str(v).strip() for v in value]
    else:
        raise ArticleError(f"field {key!r} must be a list or a string")
    return tuple(v for v in items if v)


def _parse_date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ArticleError(f"'published' is not an ISO date: {text!r}") from exc


def day_or_none(value: object) -> date | None:
    """The ISO day at the start of ``value`` (an extractor's date string), or None when there is none."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""
