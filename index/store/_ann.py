"""One segment's vectors on disk: unit vectors stored as float16, plus an ANN index when the set is large.

Scores are always exact cosines of the stored rows, whichever index found the candidates.
Why this layout and these values: docs/measurements/ann-defaults.md (measure/bench/ann.py).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

KINDS = ("flat", "ivf_flat", "ivf_sq8", "ivf_pq", "ivf_pqfs", "hnsw_flat", "hnsw_sq8")
"""``flat`` means no ANN file: exact scans. The others name the faiss index built next to the rows."""

ANN_MIN = 50_000
"""Below this many vectors an exact in-RAM scan is fast enough (and exact), so no ANN file is written;
an increment of 1,000 articles thus stays a flat segment. Why 50k: docs/measurements/ann-defaults.md."""

IN_MEMORY_MAX = 100_000
"""Sets up to this many rows are held as float32 in RAM, so every scanned set (< ANN_MIN) runs on BLAS;
larger ones are memory-mapped float16 and must have an ANN to be searched at a usable speed."""

SCAN_BLOCK = 65_536
"""Rows converted to float32 at a time when a memory-mapped set without ANN must be scanned:
numpy float16 arithmetic has no BLAS path (far slower), so float16 is never scanned directly."""


@dataclass(frozen=True)
class AnnParams:
    """How to build and query the ANN index of a large set (build-time fields are baked in the file)."""

    kind: str = "ivf_sq8"  # see DEFAULT for why
    nlist: int | None = None  # IVF lists; None: nlist_for(n)
    nprobe: int = 64  # IVF lists visited per query (query time)
    pq_m: int = 48  # PQ sub-quantizers (ivf_pq: 8 bits each; ivf_pqfs: 4 bits each, use 2× the bytes)
    hnsw_m: int = 32  # HNSW neighbours per node
    ef_construction: int = 80
    ef_search: int = 64  # HNSW candidate list (query time)
    rerank: int = 100  # ANN candidates re-scored exactly from the stored rows (query time)
    train_max: int = 131_072  # training sample cap (k-means / PQ cost grows with it)
    seed: int = 1234

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.kind == "flat":
            raise ValueError(f"unknown ANN kind {self.kind!r}; expected one of {KINDS[1:]}")

    def factory(self, n: int) -> str:
        """The faiss index_factory string for ``n`` vectors."""
        nlist = self.nlist or nlist_for(n)
        return {
            "ivf_flat": f"IVF{nlist},Flat",
            "ivf_sq8": f"IVF{nlist},SQ8",
            "ivf_pq": f"IVF{nlist},PQ{self.pq_m}",
            "ivf_pqfs": f"IVF{nlist},PQ{2 * self.pq_m}x4fs",
            "hnsw_flat": f"HNSW{self.hnsw_m},Flat",
            "hnsw_sq8": f"HNSW{self.hnsw_m}_SQ8",
        }[self.kind]


DEFAULT = AnnParams()
"""IVF-SQ8, nlist ≈ 2·√n, nprobe 64, top-100 re-scored from the float16 rows: it fits the serving
memory budget at 4 M vectors and takes increments cheaply. Why: docs/measurements/ann-defaults.md."""


def nlist_for(n: int) -> int:
    """IVF list count ≈ 2·√n rounded to a power of two (4 M → 4096 lists of ~1000 vectors).

    More lists would cost build time that search does not need; see docs/measurements/ann-defaults.md."""
    if n <= 0:
        return 1
    return max(1, 2 ** round(math.log2(max(1.0, 2 * math.sqrt(n)))))


class ScanRefusedError(RuntimeError):
    """A full exact score vector was asked of a memory-mapped set (it would page in every row)."""


@dataclass(frozen=True, eq=False)  # arrays: identity, not element-wise, equality
class VectorSet:
    """One immutable on-disk matrix of unit vectors (a segment's chunks or sentences), plus an
    approximate index when it is large enough for that to pay."""

    directory: Path
    stem: str
    matrix: np.ndarray  # float32 in RAM, or the float16 / int8 memmap as stored
    scale: np.ndarray | None  # int8 rows: per-row float32 scale; else None
    index_file: Path | None  # the approximate index on disk, or None (flat)
    kind: str
    params: AnnParams = field(default=DEFAULT)
    reader: RowReader | None = None  # mapped sets: how rows are actually read (pread, no mapping)

    @functools.cached_property
    def index(self) -> Any:
        """The faiss index, read on the first search: a build that only copies or looks rows up
        never reads a large IVF file (its checksum was verified with the segment)."""
        if self.index_file is None:
            return None
        index = faiss.read_index(str(self.index_file))
        if index.ntotal != len(self.matrix) or index.d != self.matrix.shape[1]:
            raise ValueError(f"{self.stem}: ANN index holds {index.ntotal}×{index.d}, rows are {self.matrix.shape}")
        _set_query_params(index, self.params)
        return index

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def mapped(self) -> bool:
        """True when rows stay on disk (np.memmap) rather than in RAM."""
        return isinstance(self.matrix, np.memmap)

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    # ---------------------------------------------------------------- writing

    @staticmethod
    def write(
        directory: Path,
        stem: str,
        vectors: np.ndarray,
        *,
        ann_min: int = ANN_MIN,
        dtype: str = "float16",
        params: AnnParams = DEFAULT,
    ) -> list[str]:
        """Write the rows (``<stem>.f16.npy`` or ``.i8.npy`` + ``.i8scale.npy``) and, from ``ann_min`` rows,
        ``<stem>.<kind>.faiss`` built from the rows as stored, so ANN and exact re-scoring agree;
        returns the file names written (the caller checksums them in its manifest)."""
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-D matrix, not shape {vectors.shape}")
        directory.mkdir(parents=True, exist_ok=True)
        for stale in ("f16.npy", "i8.npy", "i8scale.npy", *(f"{k}.faiss" for k in KINDS[1:])):
            (directory / f"{stem}.{stale}").unlink(missing_ok=True)  # a rewrite must not leave a mix
        names: list[str] = []
        if dtype == "float16":
            stored: np.ndarray = np.ascontiguousarray(vectors, dtype=np.float16)
            names.append(_save(directory, f"{stem}.f16.npy", stored))
            scale = None
        elif dtype == "int8":
            scale = np.maximum(np.abs(vectors).max(axis=1, initial=0.0), 1e-12).astype(np.float32) / 127.0
            stored = np.ascontiguousarray(np.clip(np.rint(vectors / scale[:, None]), -127, 127), dtype=np.int8)
            names.append(_save(directory, f"{stem}.i8.npy", stored))
            names.append(_save(directory, f"{stem}.i8scale.npy", scale))
        else:
            raise ValueError(f"dtype must be 'float16' or 'int8', not {dtype!r}")
        if len(vectors) and len(vectors) >= ann_min:
            index = build_index(stored, scale, params)
            name = f"{stem}.{params.kind}.faiss"
            tmp = directory / f".{name}.tmp"
            faiss.write_index(index, str(tmp))
            os.replace(tmp, directory / name)
            names.append(name)
        return names

    # ---------------------------------------------------------------- reading

    @classmethod
    def open(
        cls,
        directory: Path,
        stem: str,
        *,
        in_memory_max: int = IN_MEMORY_MAX,
        params: AnnParams = DEFAULT,
    ) -> VectorSet:
        """Small sets are loaded as float32 in RAM (fast BLAS scans); large ones are
        ``np.load(mmap_mode='r')`` (shape, dtype and offset checked, nothing paged in), whose rows
        are then read with pread.  ``params`` supplies the query-time knobs (nprobe, ef_search, rerank)."""
        f16, i8 = directory / f"{stem}.f16.npy", directory / f"{stem}.i8.npy"
        scale: np.ndarray | None = None
        if f16.exists():
            matrix = np.load(f16, mmap_mode="r", allow_pickle=False)
        elif i8.exists():
            matrix = np.load(i8, mmap_mode="r", allow_pickle=False)
            scale = np.load(directory / f"{stem}.i8scale.npy", allow_pickle=False).astype(np.float32)
            if scale.shape != (len(matrix),):
                raise ValueError(f"{stem}: scale has shape {scale.shape} for {len(matrix)} rows")
        else:
            raise FileNotFoundError(f"no vectors for {stem!r} in {directory}")
        if matrix.ndim != 2:
            raise ValueError(f"{stem}: stored vectors have shape {matrix.shape}")
        if len(matrix) <= in_memory_max:
            matrix = _dequantize(np.asarray(matrix), scale)
            scale = None
        ann = [k for k in KINDS[1:] if (directory / f"{stem}.{k}.faiss").exists()]
        if len(ann) > 1:
            raise ValueError(f"{stem}: several ANN files ({', '.join(ann)})")
        index_file, kind = None, "flat"
        if ann:
            kind = ann[0]
            index_file = directory / f"{stem}.{kind}.faiss"
        reader = None
        if isinstance(matrix, np.memmap) and matrix.flags.c_contiguous and len(matrix):
            reader = RowReader(Path(str(matrix.filename)), int(matrix.offset), matrix.dtype, matrix.shape[1])
        return cls(directory, stem, matrix, scale, index_file, kind, params, reader)

    def rows(self, ids: np.ndarray | slice) -> np.ndarray:
        """float32 copies of those rows (gathered in the order given)."""
        if isinstance(ids, slice):
            start, stop, step = ids.indices(len(self))
            if self.reader is not None and step == 1:
                part = self.reader.block(start, max(start, stop))
            else:
                part = np.asarray(self.matrix[ids])
            return _dequantize(part, None if self.scale is None else self.scale[ids])
        ids = np.asarray(ids, dtype=np.int64)
        if not self.mapped:
            return self.matrix[ids]
        if len(ids) and (ids.min() < -len(self) or ids.max() >= len(self)):
            raise IndexError(f"row ids out of range for {len(self)} rows")
        ids = np.where(ids < 0, ids + len(self), ids)
        raw = self.reader.gather(ids) if self.reader is not None else np.asarray(self.matrix[ids])
        return _dequantize(raw, None if self.scale is None else self.scale[ids])

    def scan(self, query: np.ndarray) -> np.ndarray:
        """Exact scores of every row; only for in-memory sets (a mapped set would page in everything)."""
        if self.mapped:
            raise ScanRefusedError(f"{self.stem}: {len(self)} memory-mapped rows cannot be scanned; use search()")
        return self.matrix @ _query(query, self.dim)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k row ids (int64) and exact cosine scores (re-scored from the stored rows), best first."""
        q = _query(query, self.dim)
        k = min(int(k), len(self))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.index is None:
            if not self.mapped:
                return _top(np.arange(len(self), dtype=np.int64), self.matrix @ q, k)
            return self._blocked_search(q, k)
        want = min(len(self), max(k, self.params.rerank))
        _, found = self.index.search(q[None, :], want)
        candidates = found[0][found[0] >= 0]
        return _top(candidates, self.rows(candidates) @ q, k)

    def _blocked_search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k over a memory-mapped set without ANN, a float32 block at a time."""
        best_ids = np.zeros(0, dtype=np.int64)
        best_scores = np.zeros(0, dtype=np.float32)
        for start in range(0, len(self), SCAN_BLOCK):
            stop = min(len(self), start + SCAN_BLOCK)
            scores = self.rows(slice(start, stop)) @ q
            ids = np.arange(start, stop, dtype=np.int64)
            best_ids, best_scores = _top(np.concatenate([best_ids, ids]), np.concatenate([best_scores, scores]), k)
        return best_ids, best_scores


def build_index(stored: np.ndarray, scale: np.ndarray | None, params: AnnParams) -> Any:
    """Train on a seeded sample and add every row in float32 blocks (never the whole matrix at once)."""
    n, dim = stored.shape
    index = faiss.index_factory(dim, params.factory(n), faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        rng = np.random.default_rng(params.seed)
        nlist = params.nlist or nlist_for(n)
        size = min(n, max(params.train_max, 40 * nlist if params.kind.startswith("ivf") else 0))
        sample = np.sort(rng.choice(n, size=size, replace=False)) if size < n else np.arange(n)
        index.train(_dequantize(stored[sample], None if scale is None else scale[sample]))
    if params.kind.startswith("hnsw"):
        hnsw: Any = faiss.downcast_index(index)
        hnsw.hnsw.efConstruction = params.ef_construction
    for start in range(0, n, 262_144):
        stop = min(n, start + 262_144)
        index.add(_dequantize(np.asarray(stored[start:stop]), None if scale is None else scale[start:stop]))
    _set_query_params(index, params)
    return index


def _set_query_params(index: Any, params: AnnParams) -> None:
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.nprobe = min(params.nprobe, ivf.nlist)
    inner: Any = faiss.downcast_index(index)
    if hasattr(inner, "hnsw"):
        inner.hnsw.efSearch = max(params.ef_search, params.rerank)


class RowReader:
    """Reads rows of a stored matrix with pread: through the page cache, but nothing is mapped.

    Re-scoring through a memmap makes the serving RSS creep towards the file's size; pread keeps it at
    the ANN codes (measured: docs/measurements/ann-defaults.md)."""

    def __init__(self, path: Path, offset: int, dtype: np.dtype[Any], dim: int) -> None:
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - lives as long as the set
        self._offset = offset
        self._dtype = dtype
        self._dim = dim
        self._row_bytes = dtype.itemsize * dim

    def block(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop in one read."""
        data = os.pread(self._file.fileno(), (stop - start) * self._row_bytes, self._offset + start * self._row_bytes)
        if len(data) != (stop - start) * self._row_bytes:
            raise OSError(f"{self._file.name}: short read (file truncated?)")
        return np.frombuffer(data, dtype=self._dtype).reshape(stop - start, self._dim)

    def gather(self, ids: np.ndarray) -> np.ndarray:
        """Rows at ``ids`` (in that order), one read each."""
        fd, size, base = self._file.fileno(), self._row_bytes, self._offset
        data = b"".join(os.pread(fd, size, base + i * size) for i in ids.tolist())
        if len(data) != len(ids) * size:
            raise OSError(f"{self._file.name}: short read (file truncated?)")
        return np.frombuffer(data, dtype=self._dtype).reshape(len(ids), self._dim)

    def close(self) -> None:
        self._file.close()


def _dequantize(rows: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
    out = np.ascontiguousarray(rows, dtype=np.float32)
    if scale is not None:
        out *= scale[:, None]
    return out


def _query(query: np.ndarray, dim: int) -> np.ndarray:
    q = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(-1))
    if q.shape != (dim,):
        raise ValueError(f"query has {q.size} values, vectors have {dim}")
    return q


def _top(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best k by score, ties broken by the smaller id (deterministic)."""
    scores = np.asarray(scores, dtype=np.float32)
    if len(ids) > k:
        keep = np.argpartition(-scores, k - 1)[:k]
        ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores))
    return ids[order].astype(np.int64, copy=False), scores[order]


def _save(directory: Path, name: str, array: np.ndarray) -> str:
    """np.save to a temporary name, then rename: a crash never leaves a half-written file under the name."""
    tmp = directory / f".{name}.tmp"
    with open(tmp, "wb") as fh:
        np.save(fh, array, allow_pickle=False)
    os.replace(tmp, directory / name)
    return name
