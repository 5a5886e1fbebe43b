"""``policybot bench --backend postgres``: vector and full-text search, embedded store vs PostgreSQL,
and the store's increment, publish, fetch and leader fail-over (``pg_store``).

Both backends are measured in one run on the same rows and questions, so their ratios hold on any
machine. The server is ``POLICYBOT_DATABASE_URL`` when set (the bench creates and drops its own
``pb_bench_`` tables there), else a throw-away PostgreSQL that pgserver starts in a temp folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.database import connect, database_url
from index.settings import Settings
from measure.bench import ann, pg_store, pg_text, pg_vectors
from measure.eval.cli import benchmarks_dir

DEFAULT_SIZES = "10000,100000"
PARTS = ("search", "store")
VECTOR_COLUMNS = (
    "n",
    "backend",
    "method",
    "setting",
    "build_s",
    "p50_ms",
    "p95_ms",
    "x_scan",
    "recall10",
    "uses_index",
)
TEXT_COLUMNS = (
    "backend",
    "method",
    "build_s",
    "p50_ms",
    "p95_ms",
    "x_fts5",
    "hit10",
    "won_vs_fts5",
    "lost_vs_fts5",
    "no_match",
)
STORE_COLUMNS = (
    "backend",
    "increment_build_s",
    "verify_publish_s",
    "fetch_s",
    "load_s",
    "serve_new_s",
    "check_ms_p50",
    "fetched_mb",
    "chunks_embedded",
    "base_build_s",
)
FAILOVER_COLUMNS = ("kill", "retry_s", "trials", "freed_ms_p50", "freed_ms_max", "takeover_s_p50", "takeover_s_max")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        choices=("files", "postgres"),
        default="files",
        help="postgres: compare search in PostgreSQL with the embedded store",
    )
    p.add_argument(
        "--pg-sizes", default=DEFAULT_SIZES, help=f"--backend postgres: vector counts (default {DEFAULT_SIZES})"
    )
    p.add_argument(
        "--pg-questions",
        type=int,
        default=1000,
        help="--backend postgres: SQuAD questions for full text (default 1000)",
    )
    p.add_argument(
        "--pg-parts",
        default=",".join(PARTS),
        help="--backend postgres: which parts to run, of search (vector and full text) and store (default both)",
    )
    p.add_argument(
        "--pg-store-base",
        type=int,
        default=pg_store.DEFAULT_BASE,
        help=f"--backend postgres: synthetic articles before the increment (default {pg_store.DEFAULT_BASE})",
    )
    p.add_argument(
        "--pg-increment",
        type=int,
        default=pg_store.DEFAULT_INCREMENT,
        help=f"--backend postgres: articles the timed increment adds (default {pg_store.DEFAULT_INCREMENT})",
    )
    p.add_argument(
        "--pg-failover-trials",
        type=int,
        default=pg_store.DEFAULT_TRIALS,
        help=f"--backend postgres: leader kills per way of killing (default {pg_store.DEFAULT_TRIALS})",
    )
    p.add_argument(
        "--pg-retry",
        type=float,
        default=pg_store.DEFAULT_RETRY,
        help=f"--backend postgres: the standby's retry interval in seconds (default {pg_store.DEFAULT_RETRY:g})",
    )


@contextlib.contextmanager
def server(settings: Settings) -> Iterator[str]:
    """The configured database, or a private pgserver instance deleted afterwards."""
    url = database_url(settings)
    if url:
        yield url
        return
    import pgserver

    with tempfile.TemporaryDirectory(prefix="policybot-pgbench-") as tmp:
        pg = pgserver.get_server(Path(tmp), cleanup_mode="delete")
        try:
            yield pg.get_uri()
        finally:
            pg.cleanup()


def bench(
    url: str,
    *,
    base: np.ndarray,
    queries: np.ndarray,
    sizes: list[int],
    squad: dict[str, Any],
    questions: int,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Both parts on one connection; ``base`` are real passage vectors the synthetic rows mix."""
    with connect(url) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        server_version = conn.execute("SHOW server_version").fetchone()
        vectors = pg_vectors.vector_bench(conn, lambda n: ann.synthesize(base, n, seed=n), queries, sizes, log)
        chunks, asked = pg_text.squad_chunks(squad, questions)
        text = pg_text.text_bench(conn, chunks, asked, log)
    return {
        "postgres": server_version[0] if server_version else None,
        "pgvector": version[0] if version else None,
        "queries": len(queries),
        "chunks": len(chunks),
        "questions": len(asked),
        "vector": vectors,
        "text": text,
    }


def _table(rows: list[dict[str, Any]], cols: tuple[str, ...]) -> list[str]:
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    return ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in [cols, *cells]]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return "" if value is None else str(value)


def format_results(r: dict[str, Any]) -> str:
    """Side-by-side tables; latency also as a ratio to the exact numpy scan / FTS5 of the same run."""
    lines: list[str] = []
    if "vector" in r:
        lines += _search_tables(r)
    if "store" in r:
        lines += [*([""] if lines else []), *_store_tables(r["store"])]
    return "\n".join(lines)


def _search_tables(r: dict[str, Any]) -> list[str]:
    vec = []
    for row in r["vector"]:
        scan = next(v for v in r["vector"] if v["n"] == row["n"] and v["method"] == "numpy exact")
        vec.append({**row, "x_scan": row["p50_ms"] / scan["p50_ms"] if scan["p50_ms"] else None})
    fts5 = next(t for t in r["text"] if t["backend"] == "files")
    text = [{**t, "x_fts5": t["p50_ms"] / fts5["p50_ms"] if fts5["p50_ms"] else None} for t in r["text"]]
    return [
        f"PostgreSQL {r['postgres']}, pgvector {r['pgvector']}; {r['queries']} query vectors",
        *_table(vec, VECTOR_COLUMNS),
        "",
        f"full text: {r['chunks']} SQuAD chunks, {r['questions']} questions",
        *_table(text, TEXT_COLUMNS),
    ]


def _store_tables(store: dict[str, Any]) -> list[str]:
    return [
        f"store: +{store['increment']} synthetic articles on {store['base']}; a second engine serves the new version",
        *_table(store["rows"], STORE_COLUMNS),
        "",
        "leader lock fail-over (seconds from the kill)",
        *_table(store["failover"], FAILOVER_COLUMNS),
    ]


def main(args: argparse.Namespace, settings: Settings) -> int:
    parts = {p.strip() for p in str(args.pg_parts).split(",") if p.strip()}
    if not parts or not parts <= set(PARTS):
        print(f"error: --pg-parts takes a comma-separated subset of {', '.join(PARTS)}", file=sys.stderr)
        return 2
    if min(args.pg_store_base, args.pg_increment, args.pg_failover_trials) < 1 or args.pg_retry <= 0:
        print(
            "error: --pg-store-base, --pg-increment, --pg-failover-trials and --pg-retry must be positive",
            file=sys.stderr,
        )
        return 2

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    results: dict[str, Any] = {}
    with server(settings) as url:
        if "search" in parts:
            sizes = [int(s) for s in args.pg_sizes.split(",") if s.strip()]
            base, queries = ann.base_embeddings()
            squad = json.loads((benchmarks_dir(settings) / "squad-dev" / "dev-v1.1.reconstructed.json").read_text())
            results = bench(
                url,
                base=base,
                queries=queries[: args.queries],
                sizes=sizes,
                squad=squad,
                questions=args.pg_questions,
                log=log,
            )
        if "store" in parts:
            with tempfile.TemporaryDirectory(prefix="policybot-pgstore-") as work:
                results["store"] = pg_store.store_bench(
                    url,
                    Path(work),
                    settings,
                    base=args.pg_store_base,
                    increment=args.pg_increment,
                    trials=args.pg_failover_trials,
                    retry=args.pg_retry,
                    log=log,
                )
    print(format_results(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0
