"""Sentence-aware chunking: an article becomes windows of whole sentences, boilerplate dropped.

A chunk never cuts a fact in half and answers quote sentences verbatim; windows fill a token budget
whose counter the caller passes in (:mod:`index.models`), or hold a fixed number of sentences.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from index.types import Article

MAX_CHUNK_WORDS = 160
"""Keeps a chunk (plus its title) under all-MiniLM-L6-v2's 256-token window."""


@dataclass(frozen=True)
class DraftChunk:
    """A chunk before it has a database id: its sentences are article sentence ordinals."""

    ordinal: int
    first_sentence: int
    last_sentence: int
    text: str


@lru_cache(maxsize=1)
def _splitter() -> Callable[[str], list[str]]:
    import nupunkt

    return nupunkt.sent_tokenize  # type: ignore[return-value]


BODY, CAPTION, BYLINE, DATELINE, CREDIT = "body", "caption", "byline", "dateline", "credit"
LABELS = {CAPTION: "Photo caption:", BYLINE: "Byline:", DATELINE: "Dateline:", CREDIT: "Credit:"}
"""How a non-body sentence is introduced in the text that is embedded and full-text indexed, so
"what does the photo show?" finds the caption; the stored sentence itself stays verbatim."""

_CAPTION = re.compile(
    r"(?:^(?:photo|picture|image|caption)s?\s*(?:\(|:))|(?:\b(?:photo|picture|image|file photo|credit)s?"
    r"\s*(?::|by)\s*[\w .,/&'()-]{1,60}\)?\s*$)",
    re.I,
)
_BYLINE = re.compile(r"^(?:[Bb]y|[Ff]rom)\s+[A-Z][\w.'-]+(?:\s+[A-Z][\w.'-]+){0,3}(?:\s*(?:,|and|&)\s*[\w .'-]+)?$")
_DATELINE = re.compile(r"^([A-Z][A-Z .,'-]{2,40}(?:\([\w .]+\))?\s*[-—–]{1,2})\s*\S")


def paragraph_kind(paragraph: str, *, last: bool) -> str:
    """What a paragraph is: a photo caption, a byline, a closing credit ("AFP"), or body text.

    Captions, bylines and credits are the article's own words and stay in it; knowing what they
    are lets them be found ("who took the photo?") without passing for the story's facts.
    """
    words = paragraph.split()
    if _CAPTION.search(paragraph) and len(words) <= 80:
        return CAPTION
    if len(words) <= 12 and _BYLINE.match(paragraph):
        return BYLINE
    if last and len(words) <= 4 and not re.search(r"[.!?]$", paragraph):
        return CREDIT
    return BODY


_BOILERPLATE = re.compile(
    r"^(?:"
    r"advertisement(?:\s*[-–—:|]\s*(?:scroll|continue)[\w ]{0,30})?"
    r"|(?:story|article) continues (?:below|after)(?: (?:this )?(?:advertisement|ad))?"
    r"|skip (?:this )?(?:ad(?:vertisement)?|to (?:main )?content)"
    r"|share(?: this)?(?: (?:article|story|page|post))?(?: (?:on|via) (?:facebook|twitter|x|linkedin|whatsapp|email|reddit))?"
    r"|(?:tweet|email|print|copy link|comments?)(?: this (?:article|story))?"
    r"|(?:sign up|subscribe)(?: now| today| here)?(?: (?:for|to) (?:our|the|a) [\w -]{0,40}(?:newsletter|bulletin|briefing|alerts?|updates|digest)s?)?"
    r"(?:(?: to get| for| and get| and receive)[\w ,'-]{0,60}(?:inbox|email|news|updates|stories))?"
    r"|(?:(?:read|see) more(?: stories| news)?|related|see also|also read|more on this(?: story)?|more from [\w ]{1,30}"
    r"|recommended(?: reading| for you)?|most (?:read|popular)|trending(?: now)?|you (?:may|might) also like"
    r"|related (?:articles|stories|content|coverage|reading|links))"
    # a bare header, or header: link titles (a "|" list, or one title that does not end a sentence)
    r"(?:\s*:?|\s*[:|»>-]\s*(?:[^|\n]{1,150}(?:\|[^|\n]{1,150})+|[^\n]{0,150}[^.!?\s]))"
    r"|(?:we|this (?:web)?site|our (?:web)?site|this page) uses? cookies\b.{0,300}"
    r"|(?:accept|reject|manage|allow)(?: all)? cookies|cookie (?:settings|preferences|policy|notice)"
    r"|(?:©|\(c\)|copyright\s*(?:©|\(c\))?\s*(?:19|20)\d\d)[^\n]{0,120}"
    r"|all rights reserved\.?"
    r")[.!]?$",
    re.I,
)
"""Whole lines that are page furniture, not the story.  A line must match from start to end, so a
sentence that merely mentions advertising, sharing, cookies or copyright is never dropped."""
_RIGHTS_RESERVED = re.compile(r"\ball rights reserved\b", re.I)
_LIST_HEADER = re.compile(
    r"^(?:related|see also|also read|more on this(?: story)?|recommended(?: reading)?|most (?:read|popular)"
    r"|related (?:articles|stories|content|coverage|reading|links)|read more)\s*:?$",
    re.I,
)
MAX_BOILERPLATE_WORDS = 40


def is_boilerplate(line: str) -> bool:
    """True for a whole line that is page furniture ("Advertisement", "Share this article", "Read
    more: ...", "Related: ...", cookie notices, "© 2024 ... All rights reserved")."""
    line = " ".join(line.split())
    if not line or len(line.split()) > MAX_BOILERPLATE_WORDS:
        return False
    if _BOILERPLATE.match(line):
        return True
    # "© 2024 Example News. All rights reserved." and "Copyright ... All rights reserved."
    return (
        bool(_RIGHTS_RESERVED.search(line))
        and len(line.split()) <= 16
        and bool(re.match(r"^(?:©|\(c\)|copyright\b)", line, re.I) or re.search(r"all rights reserved\.?$", line, re.I))
    )


def drop_boilerplate(paragraphs: list[str]) -> list[str]:
    """The paragraphs without boilerplate lines; after a bare "Related:"-style header, the link
    titles under it (up to six short lines with no sentence-ending punctuation) go too."""
    kept: list[str] = []
    links_left = 0
    for paragraph in paragraphs:
        if links_left and len(paragraph.split()) <= 15 and not re.search(r"[.!?:;\"”')]$", paragraph):
            links_left -= 1
            continue
        links_left = 0
        if is_boilerplate(paragraph):
            links_left = 6 if _LIST_HEADER.match(paragraph) else 0
            continue
        kept.append(paragraph)
    return kept


def split_marked(text: str) -> list[tuple[str, str]]:
    """``(sentence, kind)`` pairs: paragraphs first (a line break always ends a sentence), then
    nupunkt within each; a caption, byline or credit paragraph stays one piece.  Boilerplate lines
    (:func:`is_boilerplate`) are left out."""
    out: list[tuple[str, str]] = []
    tokenize = _splitter()
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", text)]
    paragraphs = drop_boilerplate([p for p in paragraphs if p])
    for n, paragraph in enumerate(paragraphs):
        kind = paragraph_kind(paragraph, last=n == len(paragraphs) - 1 and n > 0)
        if kind != BODY:
            if re.search(r"[A-Za-z0-9]", paragraph):
                out.extend((piece, kind) for piece in _split_long(paragraph))
            continue
        dateline = _DATELINE.match(paragraph) if n <= 1 else None
        for i, sentence in enumerate(tokenize(paragraph)):
            sentence = sentence.strip()
            if re.search(r"[A-Za-z0-9]", sentence):
                kind_here = DATELINE if dateline and i == 0 else BODY
                out.extend((piece, kind_here) for piece in _split_long(sentence))
    return out


def split_sentences(text: str) -> list[str]:
    """The article's sentences, verbatim (see :func:`split_marked`)."""
    return [sentence for sentence, _ in split_marked(text)]


def _split_long(sentence: str) -> list[str]:
    """Break a run-on 'sentence' (lists, tables) so no piece overflows a chunk."""
    words = sentence.split()
    if len(words) <= MAX_CHUNK_WORDS:
        return [sentence]
    return [" ".join(words[i : i + MAX_CHUNK_WORDS]) for i in range(0, len(words), MAX_CHUNK_WORDS)]


def labelled(sentence: str, kind: str) -> str:
    """A sentence as it appears in embedded and full-text-indexed chunk text."""
    label = LABELS.get(kind)
    return f"{label} {sentence}" if label else sentence


def chunk_sentences(sentences: list[str], size: int, overlap: int, kinds: list[str] | None = None) -> list[DraftChunk]:
    """Windows of ``size`` sentences sharing ``overlap`` with the previous one, capped in words."""
    if size < 1 or not 0 <= overlap < size:
        raise ValueError("chunk size must be >= 1 and overlap in [0, size)")
    chunks: list[DraftChunk] = []
    start = 0
    while start < len(sentences):
        end = start
        words = len(sentences[start].split())
        while end + 1 < len(sentences) and end + 1 - start < size:
            extra = len(sentences[end + 1].split())
            if words + extra > MAX_CHUNK_WORDS:
                break
            words += extra
            end += 1
        marks = kinds or [BODY] * len(sentences)
        text = " ".join(labelled(sentences[i], marks[i]) for i in range(start, end + 1))
        chunks.append(DraftChunk(len(chunks), start, end, text))
        if end + 1 >= len(sentences):
            break
        start = max(end + 1 - overlap, start + 1)
    return chunks


TokenCounter = Callable[[Sequence[str]], list[int]]
"""Token counts of texts, without the model's special tokens."""


def estimate_tokens(texts: Sequence[str]) -> list[int]:
    """A word-piece count estimate for when the model's tokenizer cannot be loaded (fitted on news
    sentences against all-MiniLM-L6-v2's tokenizer, rounded up: it over-counts more often than not)."""
    out = []
    for text in texts:
        pieces = _PIECES.findall(text)
        letters = sum(1 for p in pieces if p.isalpha())
        long_letters = sum(max(0, len(p) - 7) for p in pieces if p.isalpha())
        digits = sum(len(p) for p in pieces if p.isdigit())
        other = sum(1 for p in pieces if not p.isalnum())
        out.append(int(1.1 * letters + 0.2 * long_letters + 0.6 * digits + 1.3 * other) + 1)
    return out


_PIECES = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")


@dataclass(frozen=True)
class TokenBudget:
    """How to pack chunks by tokens: the whole window (title, special tokens, sentences) and a counter."""

    tokens: int
    count: TokenCounter
    special_tokens: int = 2
    counter_name: str = "estimate"


def chunk_tokens(
    sentences: list[str],
    budget: TokenBudget,
    overlap: int,
    kinds: list[str] | None = None,
    title: str = "",
) -> list[DraftChunk]:
    """Chunks of whole consecutive sentences, each as long as fits ``budget`` with the title and special
    tokens (as :func:`embedding_text` joins them), sharing up to ``overlap`` sentences with the previous
    one; a sentence longer than the budget is a chunk alone (the embedder encodes the overflow on its own)."""
    if overlap < 0:
        raise ValueError("chunk overlap must be >= 0")
    marks = kinds or [BODY] * len(sentences)
    texts = [labelled(s, k) for s, k in zip(sentences, marks, strict=True)]
    if not texts:
        return []
    title_cost = budget.count([embedding_text(title, "")])[0] if title else 0
    room = budget.tokens - budget.special_tokens - title_cost
    cost = budget.count(texts)
    chunks: list[DraftChunk] = []
    start = 0
    while start < len(texts):
        end, used = start, cost[start]
        while end + 1 < len(texts) and used + cost[end + 1] <= room:
            end += 1
            used += cost[end]
        chunks.append(DraftChunk(len(chunks), start, end, " ".join(texts[start : end + 1])))
        if end + 1 >= len(texts):
            break
        start = max(end + 1 - overlap, start + 1)
    return chunks


@dataclass(frozen=True)
class Chunked:
    """An article cut up: its sentences (verbatim), what each one is, and its chunks."""

    sentences: list[str]
    kinds: list[str]
    chunks: list[DraftChunk]


def chunk_article(article: Article, size: int = 4, overlap: int = 1, budget: TokenBudget | None = None) -> Chunked:
    """The article's sentences, their kinds and its chunks: packed to ``budget`` when given, else
    windows of ``size`` sentences."""
    marked = split_marked(article.text)
    sentences, kinds = [m[0] for m in marked], [m[1] for m in marked]
    return Chunked(sentences, kinds, rechunk(sentences, kinds, article.title, size, overlap, budget))


def rechunk(
    sentences: list[str], kinds: list[str], title: str, size: int, overlap: int, budget: TokenBudget | None
) -> list[DraftChunk]:
    """Chunks of already split sentences (the build also uses it to check that stored chunks were
    cut the way the current settings cut them)."""
    if budget is not None:
        return chunk_tokens(sentences, budget, overlap, kinds, title)
    return chunk_sentences(sentences, size, overlap, kinds)


def chunking_signature(size: int, overlap: int, budget: TokenBudget | None) -> dict[str, Any]:
    """What decides where chunks are cut: equal signatures cut equal articles equally."""
    if budget is None:
        return {"by": "sentences", "sentences": size, "overlap": overlap, "boilerplate": BOILERPLATE_RULES}
    return {
        "by": "tokens",
        "tokens": budget.tokens,
        "overlap": overlap,
        "counter": budget.counter_name,
        "boilerplate": BOILERPLATE_RULES,
    }


BOILERPLATE_RULES = 1
"""Bump when :func:`is_boilerplate` changes what it drops (stored chunks then no longer match)."""


def embedding_text(title: str, chunk_text: str) -> str:
    """What is embedded for a chunk: the title travels with every chunk of its article."""
    return f"{title}\n{chunk_text}" if title else chunk_text
