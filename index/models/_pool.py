"""Build batches on several single-threaded worker processes.

On this 2-core CPU, two processes with one torch thread each embed about 20 % more chunks per
second than one process with two threads (172 against 143 chunks/s: bfloat16 MiniLM, long news
chunks, measured side by side). A small model's matrices are too small for two threads to share
well, and threads of one process wait on each other for the GIL between operations. Loading the
model in every worker costs seconds, so a build starts the pool only when it has many chunks to
embed, and stops it when it is done. A pool that breaks (a worker killed) is not fatal: the
remaining chunks are embedded in the build's own process.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
POOL_MIN_CHUNKS = 4000
"""Fewer chunks than this are embedded in-process (a pool's start-up would not pay for itself)."""
TASK_BATCHES = 16
"""Batches per task handed to a worker: 16 (512 chunks) kept both workers busy (+26 % over one
process with two threads on long news chunks; 4 per task gave +13 %), and progress still moves
every few seconds."""

_worker: Any = None


def _start_worker(config: dict[str, Any]) -> None:
    import torch

    from index.models._embedder import Embedder

    global _worker
    torch.set_num_threads(1)
    _worker = Embedder(**{**config, "threads": 1})


def _encode(task: tuple[list[str], list[list[tuple[int, int]]]]) -> list[tuple[np.ndarray, np.ndarray]]:
    texts, spans = task
    return [(c.vector, c.sentence_vectors) for c in _worker.encode_chunks(texts, spans)]


class EncodePool:
    """``workers`` processes, each holding the model with the same settings as the caller's."""

    def __init__(self, config: dict[str, Any], workers: int) -> None:
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),  # never fork a process that runs torch threads
            initializer=_start_worker,
            initargs=(config,),
        )

    def encode_chunks(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
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


__all__ = ["POOL_MIN_CHUNKS", "TASK_BATCHES", "BrokenProcessPool", "EncodePool", "pool_workers"]
