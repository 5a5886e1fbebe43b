"""A deterministic stand-in for the embedding model, so most engine tests run without torch.

Vectors are hashed bags of (lightly stemmed) words: texts that share words are close, texts that
share none are orthogonal. That is enough for retrieval, sentence choice and abstention to behave
like the real thing on small test corpora, in milliseconds and on every machine alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

from index.models import Reading, TextReader
from index.models._embedder import EncodedChunk, Span
from index.terms import STOPWORDS, stem, tokens


class FakeEncoder:
    """Implements what the engine needs from :class:`index.models._embedder.Embedder`."""

    def __init__(self, dim: int = 256) -> None:
        self.name = "fake-hash"
        self.dim = dim
        self.calls = 0

    def signature(self) -> dict[str, object]:
        return {"model": self.name, "dim": self.dim}

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for token in tokens(text):
            if token in STOPWORDS:
                continue
            digest = hashlib.blake2b(stem(token).encode(), digest_size=8).digest()
            slot = int.from_bytes(digest[:4], "little") % self.dim
            v[slot] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(v))
        if norm == 0:
            v[0] = 1.0
            return v
        return v / norm

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._vector(t) for t in texts]).astype(np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def encode_chunks(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        progress: Callable[[int], None] | None = None,
    ) -> list[EncodedChunk]:
        out = [
            EncodedChunk(self._vector(text), self.encode([text[a:b] for a, b in text_spans]))
            for text, text_spans in zip(texts, spans, strict=True)
        ]
        if progress:
            progress(len(texts))
        return out


class CountingEncoder:
    """Wraps the real model and counts how many chunks it was asked to embed."""

    def __init__(self, inner: object, fail_after: int | None = None) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[attr-defined]
        self.dim = inner.dim  # type: ignore[attr-defined]
        self.chunks = 0
        self.fail_after = fail_after

    def signature(self):  # type: ignore[no-untyped-def]
        return self.inner.signature()  # type: ignore[attr-defined]

    def encode_chunks(self, texts, spans, progress=None):  # type: ignore[no-untyped-def]
        if self.fail_after is not None and self.chunks + len(texts) > self.fail_after:
            raise RuntimeError("simulated crash while embedding")
        self.chunks += len(texts)
        return self.inner.encode_chunks(texts, spans, progress)  # type: ignore[attr-defined]


class CountingReader:
    """A real reader, recording every call's passages (a call per answer, what it was given)."""

    def __init__(self, inner: TextReader) -> None:
        self.inner = inner
        self.calls: list[list[tuple[str, str]]] = []

    @property
    def relevance_threshold(self) -> float:
        return self.inner.relevance_threshold

    def read(self, question: str, passages: Sequence[tuple[str, str]]) -> list[Reading]:
        self.calls.append(list(passages))
        return self.inner.read(question, passages)


class FakeReader:
    """A reader that points at set words wherever a passage holds them (with set scores) and
    records every call's passages; passages without the words read as no answer."""

    relevance_threshold = 0.0

    def __init__(self, words: str, *, relevance: float = 1.0, answer_score: float = 1.0) -> None:
        self.words = words
        self.relevance = relevance
        self.answer_score = answer_score
        self.calls: list[list[tuple[str, str]]] = []

    def read(self, question: str, passages: Sequence[tuple[str, str]]) -> list[Reading]:
        self.calls.append(list(passages))
        out = []
        for _, text in passages:
            at = text.find(self.words)
            if at < 0:
                out.append(Reading(-5.0, float("-inf"), None))
            else:
                out.append(Reading(self.relevance, self.answer_score, (at, at + len(self.words))))
        return out
