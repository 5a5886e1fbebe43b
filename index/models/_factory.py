"""The one place that turns settings into models: embedder, re-scorer, their build workers, reranker, reader.

Every caller (engine, build, benchmarks) asks here, so a model is configured the same way wherever
it runs; tests replace :func:`make_embedder` (or hand :class:`Models` a fake) as their one seam.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

from index.models._cross_encoder import CrossEncoderReranker, Reranker
from index.models._embedder import Embedder, Encoder
from index.models._pool import PooledEmbedder
from index.models._reader import READER_OFF, Reader, TextReader, resolve
from index.settings import Settings


def make_embedder(settings: Settings) -> Embedder:
    """The main embedding model (``POLICYBOT_MODEL`` and its prompts, dimension, batching)."""
    s = settings
    return PooledEmbedder(
        s.model, s.batch_size, s.threads, batch_dtype=s.batch_dtype, worker=worker_embedder, **s.embedder_options()
    )


def make_rescorer(settings: Settings) -> Embedder | None:
    """The second-stage bi-encoder (``POLICYBOT_RESCORE_MODEL``, its own prompts); None when unset."""
    s = settings
    if not s.rescore_model:
        return None
    return PooledEmbedder(s.rescore_model, s.batch_size, s.threads, batch_dtype=s.batch_dtype, worker=worker_embedder)


def make_reranker(settings: Settings) -> Reranker | None:
    """The cross-encoder read at question time (``POLICYBOT_RERANKER``); None when unset."""
    return CrossEncoderReranker(settings.reranker) if settings.reranker else None


def make_reader(settings: Settings) -> Reader | None:
    """The short-answer reader (``POLICYBOT_READER_MODEL``, default the shipped weights), checked
    against its manifest; None when set to ``off``. One per weights folder and thread count in a
    process (engines share it)."""
    if (settings.reader_model or "").strip().lower() == READER_OFF:
        return None
    return _reader(resolve(settings.reader_model).resolve(), settings.threads)


@functools.lru_cache(maxsize=4)
def _reader(folder: Path, threads: int | None) -> Reader:
    return Reader(folder, threads=threads)


def worker_embedder(config: dict[str, Any]) -> Embedder:
    """A build worker's copy of an embedder, from :attr:`Embedder.config` (runs in the worker)."""
    return Embedder(**config)


class Models:
    """One engine's models, each made on first use (a no-change rebuild never loads one).

    Thread-safe. ``embedder``, ``rescorer``, ``reranker`` and ``reader`` given here are used as they are.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Encoder | None = None,
        rescorer: Encoder | None = None,
        reranker: Reranker | None = None,
        reader: TextReader | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._rescorer = rescorer
        self._reranker = reranker
        self._reader = reader
        self._reader_made = reader is not None
        self._lock = threading.Lock()

    def with_settings(self, settings: Settings) -> Models:
        """The same models (those made so far are kept) for other settings; the reader only while
        ``POLICYBOT_READER_MODEL`` stays the same (it may have been turned off)."""
        same_reader = settings.reader_model == self.settings.reader_model
        return Models(
            settings,
            embedder=self._embedder,
            rescorer=self._rescorer,
            reranker=self._reranker,
            reader=self._reader if same_reader else None,
        )

    @property
    def embedder(self) -> Encoder:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def rescorer(self) -> Encoder | None:
        """None when ``POLICYBOT_RESCORE_MODEL`` is unset (and none was given)."""
        if self._rescorer is None and self.settings.rescore_model:
            with self._lock:
                if self._rescorer is None:
                    self._rescorer = make_rescorer(self.settings)
        return self._rescorer

    @property
    def reranker(self) -> Reranker | None:
        """None when ``POLICYBOT_RERANKER`` is unset (and none was given)."""
        if self._reranker is None and self.settings.reranker:
            with self._lock:
                if self._reranker is None:
                    self._reranker = make_reranker(self.settings)
        return self._reranker

    @property
    def reader(self) -> TextReader | None:
        """The short-answer reader, loaded and verified on first use (never at start-up); None when
        ``POLICYBOT_READER_MODEL`` is ``off``."""
        if not self._reader_made:
            with self._lock:
                if not self._reader_made:
                    self._reader = make_reader(self.settings)
                    self._reader_made = True
        return self._reader
