"""The vector layer: round trips, exactness of returned scores, ANN recall, memory mapping, edges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.store._ann import AnnParams, ScanRefusedError, VectorSet, nlist_for

DIM = 32


def clustered(n: int, seed: int = 0, centres: int = 40) -> np.ndarray:
    """Unit vectors around fixed centres (real embeddings are clustered; uniform noise is a worst case)."""
    c = np.random.default_rng(99).standard_normal((centres, DIM)).astype(np.float32)
    rng = np.random.default_rng(seed)
    x = c[rng.integers(0, centres, n)] + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def exact_top(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(x @ q), kind="stable")[:k]


def test_flat_round_trip_in_memory(tmp_path: Path) -> None:
    x = clustered(500)
    names = VectorSet.write(tmp_path, "chunks", x, ann_min=10_000)
    assert names == ["chunks.f16.npy"]
    vs = VectorSet.open(tmp_path, "chunks", in_memory_max=10_000)
    assert (len(vs), vs.dim, vs.kind, vs.mapped) == (500, DIM, "flat", False)
    assert vs.matrix.dtype == np.float32
    np.testing.assert_allclose(vs.rows(np.array([3, 1, 499])), x[[3, 1, 499]], atol=2e-3)
    np.testing.assert_allclose(vs.rows(slice(10, 20)), x[10:20], atol=2e-3)
    q = x[7]
    ids, scores = vs.search(q, 10)
    assert ids.dtype == np.int64 and ids[0] == 7
    assert np.all(np.diff(scores) <= 0)
    np.testing.assert_allclose(scores, vs.scan(q)[ids], rtol=1e-6)
    assert set(ids) == set(exact_top(vs.matrix, q, 10))


@pytest.mark.parametrize("kind", ["ivf_flat", "ivf_sq8", "ivf_pqfs", "hnsw_sq8"])
def test_ann_round_trip_and_recall(tmp_path: Path, kind: str) -> None:
    x = clustered(3000, seed=1)
    params = AnnParams(kind=kind, nlist=16, nprobe=4, pq_m=8, hnsw_m=8, rerank=100, train_max=3000)
    names = VectorSet.write(tmp_path, "chunks", x, ann_min=1000, params=params)
    assert names == ["chunks.f16.npy", f"chunks.{kind}.faiss"]
    vs = VectorSet.open(tmp_path, "chunks", in_memory_max=100, params=params)
    assert vs.kind == kind and vs.mapped and len(vs) == 3000
    queries = clustered(50, seed=2)  # held out, same distribution
    exact = vs.rows(np.arange(len(vs)))
    hits = 0
    for q in queries:
        ids, scores = vs.search(q, 10)
        assert len(ids) == 10 and len(set(ids)) == 10
        np.testing.assert_allclose(scores, exact[ids] @ q, rtol=1e-5, atol=1e-6)  # re-scored exactly
        assert np.all(np.diff(scores) <= 0)
        hits += len(set(ids) & set(exact_top(exact, q, 10)))
    assert hits / (10 * len(queries)) >= 0.9


def test_mmap_above_in_memory_max_and_scan_refused(tmp_path: Path) -> None:
    x = clustered(2000, seed=3)
    VectorSet.write(tmp_path, "sentences", x, ann_min=10**9)
    vs = VectorSet.open(tmp_path, "sentences", in_memory_max=1000)
    assert vs.mapped and isinstance(vs.matrix, np.memmap) and vs.matrix.dtype == np.float16
    with pytest.raises(ScanRefusedError):
        vs.scan(x[0])
    ids, _ = vs.search(x[5], 10)  # a mapped set without ANN is scanned block by block
    assert set(ids) == set(exact_top(vs.rows(slice(None)), x[5], 10))
    np.testing.assert_allclose(vs.rows(np.array([1999, 0, 7])), x[[1999, 0, 7]], atol=2e-3)


def test_int8_rows(tmp_path: Path) -> None:
    x = clustered(300, seed=4)
    names = VectorSet.write(tmp_path, "chunks", x, ann_min=10**9, dtype="int8")
    assert names == ["chunks.i8.npy", "chunks.i8scale.npy"]
    for limit in (10_000, 10):
        vs = VectorSet.open(tmp_path, "chunks", in_memory_max=limit)
        np.testing.assert_allclose(vs.rows(np.arange(300)), x, atol=1e-2)
        assert vs.search(x[9], 1)[0][0] == 9


def test_empty_set_and_k_beyond_n(tmp_path: Path) -> None:
    VectorSet.write(tmp_path, "empty", np.zeros((0, DIM), dtype=np.float32), ann_min=0)
    empty = VectorSet.open(tmp_path, "empty")
    assert len(empty) == 0 and empty.kind == "flat"
    ids, scores = empty.search(np.ones(DIM), 5)
    assert ids.shape == (0,) and scores.shape == (0,)
    x = clustered(7, seed=5)
    VectorSet.write(tmp_path, "few", x, ann_min=1000)
    few = VectorSet.open(tmp_path, "few")
    ids, _ = few.search(x[0], 50)
    assert sorted(ids) == list(range(7))
    # ANN set asked for more than it holds
    y = clustered(400, seed=6)
    params = AnnParams(kind="ivf_flat", nlist=4, nprobe=4, rerank=10)
    VectorSet.write(tmp_path, "ann", y, ann_min=100, params=params)
    ann = VectorSet.open(tmp_path, "ann", params=params)
    ids, _ = ann.search(y[0], 1000)
    assert len(ids) == 400 and sorted(ids) == list(range(400))


def test_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        VectorSet.write(tmp_path, "x", np.zeros(5), ann_min=1)
    with pytest.raises(ValueError):
        VectorSet.write(tmp_path, "x", np.zeros((2, 3)), ann_min=10, dtype="float64")
    with pytest.raises(ValueError):
        AnnParams(kind="flat")
    VectorSet.write(tmp_path, "x", clustered(5), ann_min=10)
    with pytest.raises(ValueError):
        VectorSet.open(tmp_path, "x").search(np.ones(DIM + 1), 3)
    with pytest.raises(FileNotFoundError):
        VectorSet.open(tmp_path, "missing")


def test_nlist_for() -> None:
    assert nlist_for(0) == 1
    assert nlist_for(4_000_000) == 4096
    assert nlist_for(400_000) == 1024


def test_rewrite_replaces_kind_and_dtype(tmp_path: Path) -> None:
    x = clustered(600, seed=7)
    params = AnnParams(kind="ivf_flat", nlist=8, nprobe=8)
    VectorSet.write(tmp_path, "chunks", x, ann_min=100, params=params)
    VectorSet.write(tmp_path, "chunks", x, ann_min=10_000, dtype="int8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunks.i8.npy", "chunks.i8scale.npy"]
    assert VectorSet.open(tmp_path, "chunks").kind == "flat"


def test_mapped_rows_are_read_not_mapped(tmp_path: Path) -> None:
    x = clustered(1500, seed=8)
    VectorSet.write(tmp_path, "chunks", np.asfortranarray(x), ann_min=10**9)  # layout must not matter
    vs = VectorSet.open(tmp_path, "chunks", in_memory_max=0)
    assert vs.reader is not None
    ids = np.array([1499, 3, 3, 0, -1])
    np.testing.assert_allclose(vs.rows(ids), x[ids], atol=2e-3)
    np.testing.assert_allclose(vs.rows(slice(100, 180)), x[100:180], atol=2e-3)
    with pytest.raises(IndexError):
        vs.rows(np.array([1500]))
