"""A cross-encoder reranker: reads the question with each candidate passage, for the second stage.

Stronger than the first stage's vectors but paid per candidate at question time; none is installed
offline here, so it is off unless ``POLICYBOT_RERANKER`` names a hub model or a folder.
"""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np


class Reranker(Protocol):
    """Scores passages for one question; higher is more relevant.  Scores compare within one call only."""

    def score(self, query: str, passages: list[str]) -> list[float]: ...


class CrossEncoderReranker:
    """A ``sentence_transformers.CrossEncoder`` (hub name or local folder) with a single relevance output."""

    def __init__(self, model: str, batch_size: int = 32, max_length: int | None = None) -> None:
        from sentence_transformers import CrossEncoder

        self.name = model
        self.batch_size = batch_size
        self._model = CrossEncoder(model, device="cpu", max_length=max_length)
        labels = getattr(self._model, "num_labels", 1)
        if labels != 1:
            raise ValueError(f"{model!r} has {labels} outputs; a reranker needs one relevance score")
        self._lock = threading.Lock()  # one predict at a time, as with Embedder

    def score(self, query: str, passages: list[str]) -> list[float]:
        if not passages:
            return []
        with self._lock:
            scores = self._model.predict(
                [(query, passage) for passage in passages],
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return [float(s) for s in np.asarray(scores, dtype=np.float64).reshape(len(passages))]
