"""Reading articles from ``corpus/`` (Markdown with front matter, plain text, HTML): a file that
cannot be read is one skipped file with its reason, never a stopped build, and every parser is
bounded so hostile bytes cost no more than their own size."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from index.corpus._html import extract_article
from index.errors import ArticleError
from index.types import Article

SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
MAX_FILE_BYTES = 5_000_000
MAX_FRONT_MATTER_CHARS = 64_000
MAX_YAML_DEPTH = 20
MAX_FIELD_CHARS = 2_000
MAX_LIST_ITEMS = 200
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
_SCALARS = (str, int, float, bool, date)  # datetime is a date


def article_id_for(path: Path) -> str:
    """Stable id: the file name without its suffix (unique within one corpus folder)."""
    return path.stem


def corpus_file_names(corpus_dir: Path) -> list[str]:
    """Article files as path strings in a stable order; hidden entries and symlinked folders are skipped,
    but links and FIFOs with an article suffix are listed so reading them names why they are skipped.
    One ``scandir`` per folder, no per-file stat: at a million files this walk bounds a full build."""
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
            elif os.path.splitext(name)[1].lower() in SUFFIXES:
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

    ``reuse(path)`` may give a file's article without reading it (index.store._scan: unchanged
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
                article = load_article(Path(path), corpus_dir)
            except ArticleError as exc:
                errors.append((name, str(exc)))
                continue
        if article.id in seen:
            errors.append((name, f"duplicate article id {article.id!r} (also {os.path.basename(seen[article.id])})"))
            continue
        seen[article.id] = path
        articles.append(article)
    return articles, errors


def load_article(path: Path, corpus_dir: Path | None = None) -> Article:
    """Parse one file by its suffix (``corpus_dir``: where a symbolic link may point)."""
    raw = read_article_bytes(path, corpus_dir)
    return _JUST_WRITTEN.take(str(path), raw) or parse_article(raw, path)


def read_article_bytes(path: Path, corpus_dir: Path | None = None) -> bytes:
    """A regular file's bytes, read without ever blocking or reading past the size cap.

    A FIFO or device would hang the build; a link out of the corpus (the bot's ``.env``) would leak into
    answers. The file actually opened is checked, not the name, so a swapped link cannot slip by."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ArticleError("not a regular file (a folder, FIFO, device or socket)")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise ArticleError("symbolic link to nothing" if os.path.islink(path) else "file is gone") from exc
    except OSError as exc:
        raise ArticleError(f"cannot read file: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ArticleError("not a regular file (a folder, FIFO, device or socket)")
        if os.path.islink(path) and not _opened_inside(fd, path, corpus_dir):
            raise ArticleError("symbolic link to a file outside the corpus (not followed)")
        if info.st_size > MAX_FILE_BYTES:
            raise ArticleError(f"file is larger than {MAX_FILE_BYTES // 1_000_000} MB")
        try:
            return fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise ArticleError(f"cannot read file: {exc.strerror or exc}") from exc


def _opened_inside(fd: int, path: Path, corpus_dir: Path | None) -> bool:
    """Whether the open file ``fd`` lies inside ``corpus_dir`` (None: no link is trusted)."""
    if corpus_dir is None:
        return False
    try:
        real = os.readlink(f"/proc/self/fd/{fd}")  # the file really opened (Linux)
    except OSError:
        real = os.path.realpath(path)
    root = os.path.realpath(corpus_dir)
    return os.path.commonpath([real, root]) == root


def parse_article(raw: bytes, path: Path, *, writing: bool = False) -> Article:
    """Parse bytes as the article file ``path``; ``writing``: they are about to be written there, so
    the next :func:`load_article` of those very bytes takes this article instead of parsing again.
    The last line of the parsers' bounds: what none foresaw is still only one skipped file."""
    try:
        article = _parse_article(raw, path)
    except RecursionError:
        raise ArticleError("too deeply nested to read") from None
    except MemoryError:
        raise ArticleError("too large to read in memory") from None
    if writing:
        _JUST_WRITTEN.put(str(path), raw, article)
    return article


class _JustWritten:
    """Articles parsed from bytes a writer was about to write, until the next read of the same bytes
    at the same path: parsing is a function of those two alone, so the read may take the article.
    Bounded in bytes; anything evicted or changed on the disk is simply parsed again."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[bytes, int, Article]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, path: str, raw: bytes, article: Article) -> None:
        with self._lock:
            self._drop(path)
            self._entries[path] = (hashlib.sha256(raw).digest(), len(raw), article)
            self._bytes += len(raw)
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def take(self, path: str, raw: bytes) -> Article | None:
        with self._lock:
            if path not in self._entries:
                return None
            digest, _, article = self._entries[path]
            self._drop(path)
        return article if digest == hashlib.sha256(raw).digest() else None

    def _drop(self, path: str) -> None:
        entry = self._entries.pop(path, None)
        if entry is not None:
            self._bytes -= entry[1]


_JUST_WRITTEN = _JustWritten(max_bytes=4 * MAX_FILE_BYTES)


def _parse_article(raw: bytes, path: Path) -> Article:
    if len(raw) > MAX_FILE_BYTES:
        raise ArticleError(f"file is larger than {MAX_FILE_BYTES // 1_000_000} MB")
    if not raw.strip():
        raise ArticleError("empty file")
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
    source = _text_field(meta, "source")
    digest = hashlib.sha256("\x1f".join([title, str(published), source, body]).encode()).hexdigest()
    return Article(
        id=article_id,
        path=str(path),
        title=title,
        source=source or "unknown",
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
    return parse_front_matter(match.group(1)), content[match.end() :]


def parse_front_matter(text: str) -> dict[str, Any]:
    """The YAML between the ``---`` lines as a mapping, bounded in size, depth and expansion
    (every reader of front matter goes through here, so none can be made to blow up)."""
    if len(text) > MAX_FRONT_MATTER_CHARS:
        raise ArticleError(f"front matter is longer than {MAX_FRONT_MATTER_CHARS:,} characters")
    try:
        meta = yaml.load(text, Loader=_BoundedLoader) or {}  # a SafeLoader, bounded
    except ArticleError:
        raise
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ArticleError(f"front matter is not valid YAML ({problem})") from exc
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:  # constructors: 2024-13-45, !!float x
        raise ArticleError(f"front matter has a value YAML cannot read ({str(exc)[:80]})") from exc
    if not isinstance(meta, dict):
        raise ArticleError("front matter is not a mapping of fields")
    return meta


class _BoundedLoader(yaml.SafeLoader):
    """Safe YAML without the two ways a few hundred bytes become unbounded work: aliases (nested
    ones expand exponentially: the "billion laughs") and deep nesting (composing recurses once per
    level). Article front matter needs neither."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ArticleError("front matter uses YAML anchors or aliases (&name, *name), which are not allowed")
        if self._depth >= MAX_YAML_DEPTH:
            raise ArticleError(f"front matter is nested more than {MAX_YAML_DEPTH} levels deep")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _parse_txt(content: str) -> tuple[dict[str, Any], str]:
    """The first line is the title, unless it is a photo caption (as in wire copy pasted whole):
    then the whole text is the body, caption included, and the first story sentence names it."""
    from index.corpus._chunking import CAPTION, paragraph_kind, split_sentences

    lines = content.strip().splitlines()
    if not lines:
        raise ArticleError("empty file")
    if paragraph_kind(lines[0].strip(), last=False) == CAPTION and len(lines) > 1:
        story = split_sentences("\n".join(lines[1:]))
        title = story[0] if story else lines[0]
        return {"title": title[:200].rstrip()}, "\n".join(lines)
    return {"title": lines[0].strip()}, "\n".join(lines[1:])


def _parse_html(content: str) -> tuple[dict[str, Any], str]:
    extracted = extract_article(content, min_words=0)  # the word minimum is the loader's own
    if extracted is None:
        raise ArticleError("no article text found in the HTML")
    meta = {
        "title": extracted.title,
        "source": extracted.sitename or extracted.hostname,
        "url": extracted.url,
        "published": extracted.published,
        "authors": list(extracted.authors),
    }
    return {k: v for k, v in meta.items() if v}, extracted.text


# Links and images, with at most one level of parentheses in the address; brackets never nest,
# so a line of 100,000 "[" costs one pass, not one pass per bracket.
_IMAGE = re.compile(r"!\[[^\[\]]*\]\((?:[^()]|\([^()]*+\))*+\)")
_LINK = re.compile(r"\[([^\[\]]+)\]\((?:[^()]|\([^()]*+\))*+\)")


def _clean_markdown(body: str) -> str:
    """Drop Markdown syntax that would otherwise end up inside quoted sentences."""
    lines = []
    for line in body.splitlines():
        line = re.sub(r"^\s{0,3}#{1,6}\s+", "", line)
        line = re.sub(r"^\s*[-*+]\s+", "", line)
        line = _IMAGE.sub("", line)
        line = _LINK.sub(r"\1", line)
        line = re.sub(r"(\*\*|__)(.+?)\1", r"\2", line)
        lines.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _text_field(meta: dict[str, Any], key: str) -> str:
    """A one-line field (title, source, url): a scalar of bounded length, never a list or mapping."""
    value = meta.get(key)
    if value is None:
        return ""
    if not isinstance(value, _SCALARS):
        raise ArticleError(f"field {key!r} must be text, not a {type(value).__name__}")
    text = " ".join(str(value).split())
    if len(text) > MAX_FIELD_CHARS:
        raise ArticleError(f"field {key!r} is longer than {MAX_FIELD_CHARS:,} characters")
    return text


def _list_field(meta: dict[str, Any], key: str) -> tuple[str, ...]:
    value = meta.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        items = [v.strip() for v in re.split(r"[;,]", value)]
    elif isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value):
        items = [str(v).strip() for v in value]
    else:
        raise ArticleError(f"field {key!r} must be a list of names or a string")
    if len(items) > MAX_LIST_ITEMS or any(len(v) > MAX_FIELD_CHARS for v in items):
        raise ArticleError(f"field {key!r} has more than {MAX_LIST_ITEMS} items or an item that is too long")
    return tuple(v for v in items if v)


def _parse_date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, _SCALARS):
        raise ArticleError(f"'published' must be a date, not a {type(value).__name__}")
    text = str(value).strip()[:100]
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ArticleError(f"'published' is not an ISO date: {text[:40]!r}") from exc


def _first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""
