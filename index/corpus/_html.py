"""Page HTML → article fields (trafilatura for text, title and authors; htmldate for the date).

trafilatura drops figure captions and elements classed ``byline`` / ``dateline`` as page chrome,
but in news they are content: a caption names who is in the photo, a byline or dateline says who
reported from where. Before extraction those elements are turned into plain paragraphs so they
survive; everything else (navigation, footers, comments) is left to trafilatura.

htmldate downloads any string it gets that looks like a URL (a page whose text is a bare
``http://169.254.169.254/…`` would make it fetch that with its own client, past the SSRF guard),
so it only gets a parsed tree; both libraries' download functions are sealed as well
(:func:`index.corpus._sealed.seal_library_downloads`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from index.corpus._read import day_or_none, tame_tags
from index.corpus._sealed import seal_library_downloads

_KEEP_CLASS = re.compile(r"byline|dateline|caption|credit|author", re.IGNORECASE)
MIN_WORDS = 40  # fewer words than this is a teaser, a paywall or an error page, not the article


@dataclass(frozen=True)
class Extracted:
    """What one page gave: text (paragraphs separated by blank lines) and whatever metadata it had."""

    title: str
    text: str
    authors: tuple[str, ...]
    published: date | None
    sitename: str


def _keep_content_chrome(html: str) -> str:
    """Turn captions, bylines and datelines into ``<p>`` elements trafilatura keeps."""
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


def extract_article(html: str, url: str) -> Extracted | None:
    """The article on a page, or None when no article text (``MIN_WORDS``) can be found."""
    import htmldate
    import lxml.html
    import trafilatura

    seal_library_downloads()
    prepared = _keep_content_chrome(tame_tags(html))
    try:
        doc = trafilatura.bare_extraction(
            prepared, url=url, with_metadata=True, include_comments=False, include_tables=True, deduplicate=False
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
    if len(text.split()) < MIN_WORDS:
        return None
    authors = tuple(a.strip() for a in re.split(r"[;|]", str(meta.get("author") or "")) if a.strip())
    published = day_or_none(meta.get("date"))
    if published is None:
        try:  # a tree of its own (htmldate prunes it), parsed as htmldate parses: never taken for a URL
            tree = lxml.html.document_fromstring(html, parser=lxml.html.HTMLParser(remove_comments=True, remove_pis=True))
            published = day_or_none(htmldate.find_date(tree, url=url, original_date=True, extensive_search=False))
        except Exception:  # unparsable markup, or htmldate failing: the date is best effort
            published = None
    return Extracted(
        title=title,
        text=text,
        authors=authors,
        published=published,
        sitename=" ".join(str(meta.get("sitename") or "").split()),
    )
