"""Duplicates: the same item twice (exact) and the same wire story republished by other outlets (near).

Exact: GUID and canonical URL in the store. Near: MinHash of body shingles, found through an LSH index
in SQLite so a poll's cost does not grow with the corpus. Design: docs/design/near-duplicates.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.corpus import parse_front_matter, read_article_bytes, render_markdown, write_if_changed
from index.errors import ArticleError

NUM_PERM = 128
"""MinHash values per signature: the setting the threshold was calibrated with; BANDS × ROWS cut it."""
SHINGLE = 3
"""Words per shingle: 3 separated wire copies from same-topic stories better than 2 or 5 (same page)."""
THRESHOLD = 0.4
"""Estimated Jaccard from which a body is a wire copy: keeps nearly every edited copy, folds no same-topic story."""
MIN_WORDS = 50  # below this a body is too short for shingles to say "same story" reliably
SEED = 1
BANDS = 64
"""LSH bands of ROWS values: a pair at THRESHOLD still shares a band almost surely (docs/design/near-duplicates.md)."""
ROWS = NUM_PERM // BANDS
_WORD = re.compile(r"[^\W_]+(?:['’.][^\W_]+)*", re.UNICODE)
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
_KNOWN = ("title", "source", "url", "published", "authors", "tags")


def words(text: str) -> list[str]:
    """Lower-case word tokens (punctuation and markup ignored)."""
    return _WORD.findall(text.lower())


def shingles(text: str, size: int = SHINGLE) -> set[bytes]:
    """The set of ``size``-word shingles of ``text``."""
    tokens = words(text)
    if len(tokens) < size:
        return {" ".join(tokens).encode()} if tokens else set()
    return {" ".join(tokens[i : i + size]).encode() for i in range(len(tokens) - size + 1)}


def signature(
    text: str, *, size: int = SHINGLE, num_perm: int = NUM_PERM, min_words: int = MIN_WORDS
) -> np.ndarray | None:
    """The MinHash signature (uint64 array) of a body, or None when it is too short to compare."""
    from datasketch import MinHash

    if len(words(text)) < min_words:
        return None
    mh = MinHash(num_perm=num_perm, seed=SEED)
    mh.update_batch(list(shingles(text, size)))
    return np.asarray(mh.hashvalues, dtype=np.uint64)


def to_blob(sig: np.ndarray) -> bytes:
    """Signature → bytes for SQLite."""
    return np.asarray(sig, dtype="<u8").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    """Bytes from SQLite → signature."""
    return np.frombuffer(blob, dtype="<u8").astype(np.uint64)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    return float(np.mean(a == b))


def band_keys(sig: np.ndarray) -> list[tuple[int, int]]:
    """``(band, key)`` for each LSH band: articles that agree on a whole band share its key.

    datasketch's values are 32-bit, so a band's two values pack losslessly into one signed 64-bit key.
    """
    values = np.asarray(sig, dtype=np.uint64).reshape(BANDS, ROWS)
    packed = (values[:, 0] << np.uint64(32)) ^ values[:, 1]
    return list(enumerate(packed.view(np.int64).tolist()))


@dataclass(frozen=True)
class Match:
    """The most similar stored article: its key (corpus-relative path) and estimated Jaccard."""

    key: str
    score: float


def best_match(
    sig: np.ndarray, candidates: Iterable[tuple[str, np.ndarray]], threshold: float = THRESHOLD
) -> Match | None:
    """The stored signature most similar to ``sig`` if it reaches ``threshold``."""
    keys: list[str] = []
    rows: list[np.ndarray] = []
    for key, other in candidates:
        if other.shape == sig.shape:
            keys.append(key)
            rows.append(other)
    if not rows:
        return None
    scores = (np.vstack(rows) == sig).mean(axis=1)
    best = int(np.argmax(scores))
    return Match(keys[best], float(scores[best])) if scores[best] >= threshold else None


def read_front_matter(path: Path) -> tuple[dict[str, Any], str]:
    """``(front matter, body)`` of a Markdown article (ArticleError when it has none or it is broken)."""
    try:
        content = read_article_bytes(path).decode("utf-8-sig")  # never a FIFO, a link or an oversized file
    except (ArticleError, UnicodeDecodeError) as exc:
        raise ArticleError(f"cannot read {path.name}: {exc}") from exc
    match = _FRONT_MATTER.match(content)
    if not match:
        raise ArticleError(f"{path.name} has no front matter")
    try:
        meta = parse_front_matter(match.group(1))
    except ArticleError as exc:
        raise ArticleError(f"{path.name}: {exc}") from exc
    return meta, content[match.end() :]


def add_also_published_by(path: Path, source: str, url: str) -> bool:
    """Record that ``source`` also published the story at ``url``; False when already recorded.

    Idempotent, so replaying a fold after a crash never lists an outlet twice.
    """
    meta, body = read_front_matter(path)
    entries = meta.get("also_published_by") or []
    if not isinstance(entries, list):
        entries = []
    if url == meta.get("url") or any(isinstance(e, dict) and e.get("url") == url for e in entries):
        return False
    entries.append({"source": source, "url": url})
    meta["also_published_by"] = entries
    published = meta.get("published")
    extra = {k: v for k, v in meta.items() if k not in _KNOWN}
    if published and not hasattr(published, "isoformat"):
        extra = {"published": published, **extra}  # kept verbatim: a fold never rewrites what it can't read
    text = render_markdown(
        title=str(meta.get("title") or ""),
        body=body,
        source=str(meta.get("source") or ""),
        url=str(meta.get("url") or ""),
        published=published if hasattr(published, "isoformat") else None,
        authors=_as_list(meta.get("authors")),
        tags=_as_list(meta.get("tags")),
        extra=extra,
    )
    return write_if_changed(path, text, durable=True)  # the fold is recorded next: it must be on disk first


def _as_list(value: object) -> Sequence[str]:
    if value is None:
        return ()
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in re.split(r"[;,]", str(value)) if v.strip()]
