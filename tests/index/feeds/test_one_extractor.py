"""An uploaded ``.html`` file and the same page fetched from a server become the same article:
one extractor (index/corpus/_html.py) reads both, photo caption, byline and dateline included."""

from __future__ import annotations

from pathlib import Path

from index.corpus._edit import add_article
from index.corpus._read import load_article
from index.feeds import FeedStore
from index.feeds._fetch import FetchOptions
from index.feeds._poll import add_url
from tests.support.local_server import LocalServer

CAPTION = "Minister Anna Berg at the cyber agency in The Hague on Tuesday."
BYLINE = "By Pieter de Vries"
PARAGRAPHS = [
    "The Dutch government fined a telecom operator 600,000 euros on Tuesday for reporting a data breach late.",
    "The regulator said the company waited eleven days before telling customers their records had leaked.",
    "Under the rules a breach must be reported within three days of its discovery to the authority.",
    "The operator said it would appeal the decision and that no passwords or payment details were exposed.",
    "Lawmakers asked the minister to publish every fine of the past year before the summer recess begins.",
]
PAGE = (
    "<html><head><title>Dutch regulator fines telecom over late breach report</title></head><body>"
    "<nav>Home | Login | Cookie settings</nav><article><h1>Dutch regulator fines telecom over late breach report</h1>"
    f"<p class='byline'>{BYLINE}</p><p class='dateline'>THE HAGUE</p>"
    f"<figure><img src='berg.jpg'><figcaption>{CAPTION}</figcaption></figure>"
    + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    + "</article><footer>Copyright Lowlands Ledger</footer></body></html>"
)


def test_an_uploaded_html_file_keeps_its_photo_caption_like_the_fetched_page(
    server: LocalServer, store: FeedStore, opts: FetchOptions, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    server.text("/dutch-fine", PAGE)
    fetched = load_article(add_url(server.url("/dutch-fine"), corpus, store, options=opts), corpus)
    uploaded = load_article(add_article(corpus, "uploaded-fine.html", PAGE.encode()), corpus)  # /index add file

    assert CAPTION in fetched.text and BYLINE in fetched.text
    assert CAPTION in uploaded.text and BYLINE in uploaded.text
    assert uploaded.text == fetched.text
    assert uploaded.title == fetched.title == "Dutch regulator fines telecom over late breach report"
    assert "Login" not in uploaded.text and "Copyright" not in uploaded.text
