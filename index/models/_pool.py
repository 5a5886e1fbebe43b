"""A large build's batches on several single-threaded worker processes, each holding the model.

Small matrices share two threads badly, so one thread per process embeds faster; a pool is started
only for builds large enough to pay its start-up, and a broken pool falls back to in-process work.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from index.models._embedder import Embedder, EncodedChunk, Span

log = logging.getLogger(__name__)
POOL_MIN_CHUNKS = 4000
"""Fewer chunks than this are embedded in-process (a pool's start-up would not pay for itself)."""
TASK_BATCHES = 16
"""Batches per task handed to a worker: enough to keep every worker busy, few enough that progress
moves every few seconds."""

WorkerFactory = Callable[[dict[str, Any]], Embedder]
"""Makes a worker's embedder from :attr:`Embedder.config` (module-level, so a spawned process can
unpickle it: :func:`index.models._factory.worker_embedder`)."""

_worker: Embedder | None = None


def _start_worker(make: WorkerFactory, config: dict[str, Any]) -> None:
    import torch

    global _worker
    torch.set_num_threads(1)
    _worker = make({**config, "threads": 1})


def _encode(task: tuple[list[str], list[list[Span]]]) -> list[tuple[np.ndarray, np.ndarray]]:
    texts, spans = task
    assert _worker is not None
    return [(c.vector, c.sentence_vectors) for c in _worker.encode_chunks(texts, spans)]


class EncodePool:
    """``workers`` processes, each holding an embedder made by ``make`` from ``config``."""

    def __init__(self, make: WorkerFactory, config: dict[str, Any], workers: int) -> None:
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),  # never fork a process that runs torch threads
            initializer=_start_worker,
            initargs=(make, config),
        )

    def encode_chunks(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        batch_size: int,
        progress: Callable[[int], None] | None = None,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Vectors in the order given; chunks of similar length travel together (little padding).
        Raises BrokenProcessPool when a worker died; what was done so far is lost to the caller."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        size = batch_size * TASK_BATCHES
        tasks = [order[start : start + size] for start in range(0, len(order), size)]
        results: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(texts)
        work = (([texts[i] for i in task], [list(spans[i]) for i in task]) for task in tasks)
        for task, encoded in zip(tasks, self._executor.map(_encode, work), strict=True):
            for i, item in zip(task, encoded, strict=True):
                results[i] = item
            if progress:
                progress(len(task))
        return [r for r in results if r is not None]

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def pool_workers(threads: int, chunks: int, processes: int) -> int:
    """How many worker processes a build of ``chunks`` should use (0: embed in-process).

    ``processes``: the setting (0 = one per thread for large builds, 1 = never a pool, N = N)."""
    if processes == 1 or chunks < POOL_MIN_CHUNKS:
        return 0
    workers = processes or threads
    return workers if workers > 1 else 0


class PooledEmbedder(Embedder):
    """An :class:`Embedder` whose large ``encode_chunks`` calls run on worker processes while a
    build holds :meth:`parallel` open; ``worker`` makes each worker's own embedder."""

    def __init__(self, *args: Any, worker: WorkerFactory, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._make_worker = worker
        self._pool: EncodePool | None = None

    def encode_chunks(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        progress: Callable[[int], None] | None = None,
    ) -> list[EncodedChunk]:
        if self._pool is not None and len(texts) == len(spans) and len(texts) >= self.batch_size * TASK_BATCHES:
            try:
                return [EncodedChunk(v, s) for v, s in self._pool.encode_chunks(texts, spans, self.batch_size, progress)]
            except BrokenProcessPool:
                log.warning("an embedding worker process died: embedding in this process instead")
                self._stop_pool()
        return super().encode_chunks(texts, spans, progress)

    @contextlib.contextmanager
    def parallel(self, chunks: int, processes: int = 0) -> Iterator[None]:
        """While inside, large ``encode_chunks`` calls run on worker processes; ``chunks``: how
        many the caller is about to embed, ``processes``: ``POLICYBOT_BUILD_PROCESSES``."""
        workers = pool_workers(self.threads, chunks, processes)
        if not workers or self._pool is not None:
            yield
            return
        self._pool = EncodePool(self._make_worker, self.config, workers)
        try:
            yield
        finally:
            self._stop_pool()

    def _stop_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
