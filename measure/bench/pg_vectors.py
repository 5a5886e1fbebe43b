"""Vector search, embedded store vs pgvector, on the same rows and queries in one run.

The embedded side is ``index.store.VectorSet`` as a segment uses it (an exact float32 scan in RAM, and
the IVF index ``build_ann_index`` makes with ``ANN_DEFAULT``); the PostgreSQL side is pgvector with no
index, HNSW and IVFFlat. Ground truth is the exact inner-product top-k over the stored rows.
"""

from __future__ import annotations

import math
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.store import ANN_DEFAULT, VectorSet, nlist_for
from measure.bench.ann import exact_topk

K = 10
TABLE = "pb_bench_vectors"
HNSW_EF_SEARCH = (40, 100)
IVFFLAT_PROBES = (1, 4, 10, 20)


@dataclass(frozen=True)
class VectorRow:
    """One method at one setting on one size: latency per query, build time, recall@10 vs exact."""

    n: int
    backend: str  # "files" (the embedded store) or "postgres"
    method: str
    setting: str
    build_s: float
    p50_ms: float
    p95_ms: float
    recall10: float
    uses_index: bool | None = None  # postgres: whether the plan used the index it was meant to test


def percentile(values: list[float], pct: float) -> float:
    return float(np.percentile(np.asarray(values), pct)) if values else 0.0


def recall(found: list[np.ndarray], truth: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / (truth.shape[1] * len(truth)) if len(truth) else 0.0


def timed_queries(
    search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray
) -> tuple[list[float], list[np.ndarray]]:
    """Latency in ms and the ids found, one query at a time after a short warm-up."""
    for q in queries[:5]:
        search(q)
    times, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        ids = search(q)
        times.append((time.perf_counter() - t0) * 1000)
        found.append(ids)
    return times, found


def vector_literal(v: np.ndarray) -> str:
    """pgvector's text form; float32 -> Python float is exact, so the server parses the same values."""
    return "[" + ",".join(repr(x) for x in np.asarray(v, dtype=np.float32).tolist()) + "]"


def copy_binary(rows: np.ndarray) -> bytes:
    """COPY BINARY payload of (id bigint, embedding vector): far faster than text for 100k rows."""
    n, dim = rows.shape
    record = np.dtype(
        [
            ("nfields", ">i2"),
            ("id_len", ">i4"),
            ("id", ">i8"),
            ("vec_len", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("v", ">f4", (dim,)),
        ]
    )
    out = np.zeros(n, dtype=record)
    out["nfields"], out["id_len"], out["id"] = 2, 8, np.arange(n)
    out["vec_len"], out["dim"], out["v"] = 4 + 4 * dim, dim, rows
    return b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0) + out.tobytes() + struct.pack(">h", -1)


def _files_search(vs: VectorSet) -> Callable[[np.ndarray], np.ndarray]:
    def search(q: np.ndarray) -> np.ndarray:
        return vs.search(q, K)[0]

    return search


def files_rows(rows16: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> Iterator[VectorRow]:
    """The embedded store: the exact scan small segments use, and the IVF index of large ones."""
    n = len(rows16)
    with tempfile.TemporaryDirectory(prefix="policybot-pgbench-") as tmp:
        for method, ann_min, directory in (
            ("numpy exact", n + 1, Path(tmp, "flat")),
            ("faiss ivf", 0, Path(tmp, "ivf")),
        ):
            directory.mkdir()
            t0 = time.perf_counter()
            VectorSet.write(directory, "chunks", rows16, ann_min=ann_min)
            vs = VectorSet.open(directory, "chunks")
            _ = vs.index  # read the faiss file now, not inside the first timed query
            build_s = time.perf_counter() - t0
            times, found = timed_queries(_files_search(vs), queries)
            setting = "" if ann_min else f"{ANN_DEFAULT.kind} nlist={nlist_for(n)} nprobe={ANN_DEFAULT.nprobe}"
            yield VectorRow(
                n, "files", method, setting, build_s, percentile(times, 50), percentile(times, 95), recall(found, truth)
            )


def _plan_uses(conn: Any, sql: str, param: str, index: str | None) -> bool:
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, (param,)).fetchall())
    return index in plan if index else "Index" not in plan


def _pg_search(conn: Any, sql: str) -> Callable[[np.ndarray], np.ndarray]:
    def search(q: np.ndarray) -> np.ndarray:
        return np.array(
            [r[0] for r in conn.execute(sql, (vector_literal(q),), prepare=True).fetchall()], dtype=np.int64
        )

    return search


def postgres_rows(conn: Any, rows: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> Iterator[VectorRow]:
    """pgvector on the same rows: exact (no index), HNSW (pgvector defaults) and IVFFlat (sqrt(n) lists)."""
    n, dim = rows.shape
    conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    conn.execute(f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, embedding vector({dim}) NOT NULL)")
    with conn.cursor().copy(f"COPY {TABLE} (id, embedding) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(copy_binary(rows))
    conn.execute(f"VACUUM ANALYZE {TABLE}")
    conn.execute("SET maintenance_work_mem = '1GB'")  # an HNSW graph that spills to disk builds far slower
    sql = f"SELECT id FROM {TABLE} ORDER BY embedding <#> %s::vector LIMIT {K}"
    probe = vector_literal(queries[0])
    search = _pg_search(conn, sql)

    def row(method: str, setting: str, build_s: float, index: str | None) -> VectorRow:
        uses = _plan_uses(conn, sql, probe, index)
        times, found = timed_queries(search, queries)
        return VectorRow(
            n,
            "postgres",
            method,
            setting,
            build_s,
            percentile(times, 50),
            percentile(times, 95),
            recall(found, truth),
            uses,
        )

    yield row("pgvector exact", "no index", 0.0, None)
    conn.execute("SET enable_seqscan = off")  # small tables: the planner would rather scan than use the index
    t0 = time.perf_counter()
    conn.execute(f"CREATE INDEX {TABLE}_hnsw ON {TABLE} USING hnsw (embedding vector_ip_ops)")
    build_s = time.perf_counter() - t0
    for ef in HNSW_EF_SEARCH:
        conn.execute(f"SET hnsw.ef_search = {ef}")
        yield row("pgvector hnsw", f"m=16 ef_construction=64 ef_search={ef}", build_s, f"{TABLE}_hnsw")
    conn.execute(f"DROP INDEX {TABLE}_hnsw")
    lists = max(1, round(math.sqrt(n)))
    t0 = time.perf_counter()
    conn.execute(f"CREATE INDEX {TABLE}_ivf ON {TABLE} USING ivfflat (embedding vector_ip_ops) WITH (lists = {lists})")
    build_s = time.perf_counter() - t0
    for probes in IVFFLAT_PROBES:
        if probes <= lists:
            conn.execute(f"SET ivfflat.probes = {probes}")
            yield row("pgvector ivfflat", f"lists={lists} probes={probes}", build_s, f"{TABLE}_ivf")
    conn.execute("RESET enable_seqscan")
    conn.execute(f"DROP TABLE {TABLE}")


def vector_bench(
    conn: Any, synth: Callable[[int], np.ndarray], queries: np.ndarray, sizes: list[int], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Every method at every size; ``synth(n)`` gives the n float16 unit rows a size is measured on."""
    out: list[dict[str, Any]] = []
    for n in sizes:
        rows16 = synth(n)
        truth = exact_topk(rows16, queries, K)
        log(f"vectors: n={n}, {len(queries)} queries ...")
        for result in (
            *files_rows(rows16, queries, truth),
            *postgres_rows(conn, rows16.astype(np.float32), queries, truth),
        ):
            log(
                f"  {result.backend} {result.method} {result.setting}: p50 {result.p50_ms:.2f} ms, recall {result.recall10:.3f}"
            )
            out.append(asdict(result))
    return out
