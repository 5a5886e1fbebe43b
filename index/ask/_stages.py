"""Second stages: re-score the first stage's best candidate chunks with a stronger model.

The cheap first stage finds the right passage but often misorders it: a second bi-encoder whose
vectors were stored at build time costs one more encode; a cross-encoder reads each candidate.
"""

from __future__ import annotations

import numpy as np

from index.ask._query import Query
from index.ask._retrieval import fuse
from index.models import Reranker
from index.store import Snapshot


class VectorRescorer:
    """The stored re-scoring vectors' cosine, fused with BM25 at the re-scoring model's own weight.

    Its BM25 weight comes from the re-scoring model's profile (index.ask._tuning): fusion weights are
    fitted per model, because each model's cosines have their own scale.
    """

    def __init__(self, bm25_weight: float) -> None:
        self.bm25_weight = bm25_weight

    def rescore(self, snap: Snapshot, query: Query, ids: np.ndarray, bm25: np.ndarray) -> np.ndarray | None:
        if query.rescore_vector is None or snap.rescore_chunk_vectors is None:
            return None
        cosine = snap.rescore_chunk_vectors[ids] @ query.rescore_vector
        return fuse(cosine.astype(np.float64), bm25, self.bm25_weight)


class CrossEncoderStage:
    """A :class:`index.models._cross_encoder.Reranker` over the candidates' text (title first, as they were embedded).

    A cross-encoder's scores are already comparable within a question, so BM25 is not fused in;
    the date and length adjustments of retrieval still apply on top.
    """

    def __init__(self, reranker: Reranker) -> None:
        self.reranker = reranker

    def rescore(self, snap: Snapshot, query: Query, ids: np.ndarray, bm25: np.ndarray) -> np.ndarray | None:
        if len(ids) == 0:
            return None
        passages = [
            f"{snap.articles[int(snap.chunk_article[c])].citation.title}\n{snap.chunk_text[c]}" for c in ids.tolist()
        ]
        return np.asarray(self.reranker.score(query.retrieval_text, passages), dtype=np.float64)

