"""Vector search, embedded store vs pgvector, on the same rows and queries in one run.

The embedded side is ``index.store.VectorSet`` as a segment uses it (an exact float32 scan in RAM, and
the IVF index ``build_ann_index`` makes with ``ANN_DEFAULT``); the PostgreSQL side is pgvector with no
index, HNSW and IVFFlat, each on its own copy of the table. Ground truth is the exact inner-product
top-k over the stored rows. The queries run in rounds that visit every method in turn, so a burst of
load from other work on a shared machine falls on all methods alike rather than on one.
"""

from __future__ import annotations

import math
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.store import ANN_DEFAULT, VectorSet, nlist_for
from measure.bench.ann import exact_topk

K = 10
TABLE = "pb_bench_vectors"
HNSW_EF_SEARCH = (40, 100)
IVFFLAT_PROBES = (1, 4, 10, 20)
ROUNDS = 4
WARM = 3  # queries a method runs untimed at the start of each round (its pages back in cache)


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


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Method:
    """A search to time: ``prepare`` sets its session knobs before each round (untimed)."""

    backend: str
    method: str
    setting: str
    build_s: float
    search: Callable[[np.ndarray], np.ndarray]
    prepare: Callable[[], None] = field(default=_nothing)
    uses_index: bool | None = None


def measure(methods: list[Method], queries: np.ndarray, truth: np.ndarray, n: int) -> list[VectorRow]:
    """Every method on every query, in ROUNDS blocks of queries; the method order rotates per round."""
    times: list[list[float]] = [[] for _ in methods]
    found: list[list[np.ndarray]] = [[np.zeros(0, dtype=np.int64)] * len(queries) for _ in methods]
    for r, block in enumerate(np.array_split(np.arange(len(queries)), ROUNDS)):
        order = list(range(len(methods)))
        order = order[r % len(order) :] + order[: r % len(order)]
        for i in order:
            methods[i].prepare()
            for q in queries[block[:WARM]]:
                methods[i].search(q)
            for j in block:
                t0 = time.perf_counter()
                found[i][j] = methods[i].search(queries[j])
                times[i].append((time.perf_counter() - t0) * 1000)
    return [
        VectorRow(
            n=n,
            backend=m.backend,
            method=m.method,
            setting=m.setting,
            build_s=m.build_s,
            p50_ms=percentile(times[i], 50),
            p95_ms=percentile(times[i], 95),
            recall10=recall(found[i], truth),
            uses_index=m.uses_index,
        )
        for i, m in enumerate(methods)
    ]


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


def files_methods(rows16: np.ndarray, folder: Path) -> list[Method]:
    """The embedded store: the exact scan small segments use, and the IVF index of large ones."""
    n = len(rows16)
    out = []
    for method, ann_min, directory in (("numpy exact", n + 1, folder / "flat"), ("faiss ivf", 0, folder / "ivf")):
        directory.mkdir()
        t0 = time.perf_counter()
        VectorSet.write(directory, "chunks", rows16, ann_min=ann_min)
        vs = VectorSet.open(directory, "chunks")
        _ = vs.index  # read the faiss file now, not inside the first timed query
        build_s = time.perf_counter() - t0
        setting = "" if ann_min else f"{ANN_DEFAULT.kind} nlist={nlist_for(n)} nprobe={ANN_DEFAULT.nprobe}"
        out.append(Method("files", method, setting, build_s, _files_search(vs)))
    return out


def _pg_search(conn: Any, sql: str) -> Callable[[np.ndarray], np.ndarray]:
    def search(q: np.ndarray) -> np.ndarray:
        rows = conn.execute(sql, (vector_literal(q),), prepare=True).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    return search


def _pg_settings(conn: Any, settings: dict[str, str]) -> Callable[[], None]:
    def prepare() -> None:
        for name, value in settings.items():
            conn.execute(f"SET {name} = {value}")

    return prepare


def _table(conn: Any, name: str, rows: np.ndarray, index: str | None) -> float:
    """A copy of the rows in table ``name``, with ``index`` (USING ... clause) built on it; the build time."""
    conn.execute(f"DROP TABLE IF EXISTS {name}")
    conn.execute(f"CREATE TABLE {name} (id bigint PRIMARY KEY, embedding vector({rows.shape[1]}) NOT NULL)")
    with conn.cursor().copy(f"COPY {name} (id, embedding) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(copy_binary(rows))
    t0 = time.perf_counter()
    if index:
        conn.execute(f"CREATE INDEX {name}_ann ON {name} USING {index}")
    build_s = time.perf_counter() - t0
    conn.execute(f"VACUUM ANALYZE {name}")
    return build_s


def postgres_methods(conn: Any, rows: np.ndarray, probe: np.ndarray) -> list[Method]:
    """pgvector on the same rows: exact (no index), HNSW (pgvector defaults), IVFFlat (sqrt(n) lists).

    Index methods run with sequential scans off (a small table's planner would rather scan), and
    ``uses_index`` records whether the plan really used the index under test (exact: no index)."""
    n = len(rows)
    lists = max(1, round(math.sqrt(n)))
    conn.execute("SET maintenance_work_mem = '1GB'")  # an HNSW graph that spills to disk builds far slower
    plans = [
        ("pgvector exact", "", None, [("no index", {"enable_seqscan": "on"})]),
        (
            "pgvector hnsw",
            "_hnsw",
            "hnsw (embedding vector_ip_ops)",
            [
                (f"m=16 ef_construction=64 ef_search={ef}", {"enable_seqscan": "off", "hnsw.ef_search": str(ef)})
                for ef in HNSW_EF_SEARCH
            ],
        ),
        (
            "pgvector ivfflat",
            "_ivfflat",
            f"ivfflat (embedding vector_ip_ops) WITH (lists = {lists})",
            [
                (f"lists={lists} probes={p}", {"enable_seqscan": "off", "ivfflat.probes": str(p)})
                for p in IVFFLAT_PROBES
                if p <= lists
            ],
        ),
    ]
    out = []
    for method, suffix, index, settings in plans:
        table = TABLE + suffix
        build_s = _table(conn, table, rows, index)
        sql = f"SELECT id FROM {table} ORDER BY embedding <#> %s::vector LIMIT {K}"
        for setting, knobs in settings:
            prepare = _pg_settings(conn, knobs)
            prepare()
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, (vector_literal(probe),)).fetchall())
            uses = f"{table}_ann" in plan if index else "Index" not in plan
            out.append(Method("postgres", method, setting, build_s, _pg_search(conn, sql), prepare, uses))
    return out


def drop_tables(conn: Any) -> None:
    for suffix in ("", "_hnsw", "_ivfflat"):
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}{suffix}")
    conn.execute("RESET enable_seqscan")


def vector_bench(
    conn: Any, synth: Callable[[int], np.ndarray], queries: np.ndarray, sizes: list[int], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Every method at every size; ``synth(n)`` gives the n float16 unit rows a size is measured on."""
    out: list[dict[str, Any]] = []
    for n in sizes:
        rows16 = synth(n)
        truth = exact_topk(rows16, queries, K)
        log(f"vectors: n={n}, building ...")
        with tempfile.TemporaryDirectory(prefix="policybot-pgbench-") as tmp:
            try:
                methods = files_methods(rows16, Path(tmp))
                methods += postgres_methods(conn, rows16.astype(np.float32), queries[0])
                log(f"vectors: n={n}, {len(queries)} queries x {len(methods)} methods ...")
                results = measure(methods, queries, truth, n)
            finally:
                drop_tables(conn)
        for r in results:
            log(f"  {r.backend} {r.method} {r.setting}: p50 {r.p50_ms:.2f} ms, recall {r.recall10:.3f}")
            out.append(asdict(r))
    return out
