"""The one HTML extractor, for uploaded ``.html`` files and fetched pages alike, so an article reads
the same however it arrived: captions, bylines and datelines are content in news, and the parsing
libraries get parsed trees only, never a string they could download."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

from index.corpus._sealed import seal_library_downloads

log = logging.getLogger(__name__)
_KEEP_CLASS = re.compile(r"byline|dateline|caption|credit|author", re.IGNORECASE)
MIN_WORDS = 40  # fewer words than this is a teaser, a paywall or an error page, not the article
MAX_TAG_ATTRIBUTES = 64


@dataclass(frozen=True)
class Extracted:
    """What one page gave: text (paragraphs separated by blank lines) and whatever metadata it had
    (``url`` and ``hostname``: the page's own address as its metadata gives it, or '')."""

    title: str
    text: str
    authors: tuple[str, ...]
    published: date | None
    sitename: str
    url: str = ""
    hostname: str = ""


def extract_article(html: str, url: str = "", *, min_words: int = MIN_WORDS) -> Extracted | None:
    """The article on a page (``url``: where it was fetched, '' for a file), or None when there is
    no article text of at least ``min_words`` words."""
    import htmldate
    import lxml.html
    import trafilatura

    seal_library_downloads()
    html = tame_tags(html)  # before any parser sees it, the date finder's included
    prepared = _keep_content_chrome(html)
    try:
        doc = trafilatura.bare_extraction(
            prepared, url=url or None, with_metadata=True, include_comments=False, include_tables=True,
            deduplicate=False,
        )
    except Exception:  # trafilatura raises many kinds on broken markup; broken means "no article"
        return None
    if doc is None:
        return None
    meta = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    title = " ".join(str(meta.get("title") or "").split())
    lines = [" ".join(line.split()) for line in str(meta.get("text") or "").splitlines()]
    lines = [line for line in lines if line]
    if lines and title and lines[0] == title:
        lines = lines[1:]  # the headline is the title field, not the first paragraph
    text = "\n\n".join(lines)
    if not text or len(text.split()) < min_words:
        return None
    authors = tuple(a.strip() for a in re.split(r"[;|]", str(meta.get("author") or "")) if a.strip())
    published = day_or_none(meta.get("date"))
    if published is None:
        try:  # a tree of its own (htmldate prunes it), parsed as htmldate parses: never taken for a URL
            parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True)
            tree = lxml.html.document_fromstring(html, parser=parser)
            found = htmldate.find_date(tree, url=url or None, original_date=True, extensive_search=False)
            published = day_or_none(found)
        except Exception:  # unparsable markup, or htmldate failing: the date is best effort
            published = None
    return Extracted(
        title=title,
        text=text,
        authors=authors,
        published=published,
        sitename=" ".join(str(meta.get("sitename") or "").split()),
        url=str(meta.get("url") or ""),
        hostname=str(meta.get("hostname") or ""),
    )


def _keep_content_chrome(html: str) -> str:
    """Turn captions, bylines and datelines into ``<p>`` elements: trafilatura drops figure captions
    and elements classed ``byline`` / ``dateline`` as page chrome, but they name who and where."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return html
    for caption in root.iter("figcaption"):
        figure = caption.getparent()
        caption.tag = "p"
        if figure is not None and figure.tag == "figure":
            figure.tag = "div"
    for element in root.iter():
        if not isinstance(element.tag, str) or element.tag in ("html", "body", "article", "main", "section"):
            continue
        marker = f"{element.get('class', '')} {element.get('id', '')} {element.get('itemprop', '')}"
        text = " ".join(element.text_content().split())
        if (
            _KEEP_CLASS.search(marker)
            and 0 < len(text.split()) <= 60
            and element.tag not in ("script", "style", "meta")
        ):
            for attr in ("class", "id", "itemprop"):
                element.attrib.pop(attr, None)
            if element.tag in ("span", "a", "time", "div", "address", "small", "em", "strong"):
                element.tag = "p" if element.tag in ("div", "address") else element.tag
    return str(lxml.html.tostring(root, encoding="unicode"))


def day_or_none(value: object) -> date | None:
    """The ISO day at the start of ``value`` (an extractor's date string), or None when there is none."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


# A start tag, quoted values whole; possessive, so a scan never backtracks (linear on any input).
_TAG = re.compile(r"""<([a-zA-Z][^\s/>"'<]*+)((?:[^>"'<]|"[^"]*+"|'[^']*+')*+)>""")
_QUOTED = re.compile(r""""[^"]*+"|'[^']*+'""")
_ATTRIBUTE_WORD = re.compile(r"""[^\s"'>/=]++""")


def tame_tags(html: str) -> str:
    """Drop the attributes of any tag with more than ``MAX_TAG_ATTRIBUTES``: the HTML parser checks
    each attribute against all the others (a huge tag costs minutes), and no article needs them."""

    def tame(match: re.Match[str]) -> str:
        attributes = match.group(2)
        if len(attributes) < 4 * MAX_TAG_ATTRIBUTES:
            return match.group(0)
        words = sum(1 for _ in _ATTRIBUTE_WORD.finditer(_QUOTED.sub(" ", attributes)))
        return match.group(0) if words <= 2 * MAX_TAG_ATTRIBUTES else f"<{match.group(1)}>"

    return _TAG.sub(tame, html)
