"""Full-text search, SQLite FTS5 bm25 (the embedded store) vs PostgreSQL tsvector, on SQuAD chunks.

Both backends index the same chunks (title + body, title weighted up as the store does) and get the
same terms per question (``content_terms`` -> ``fts_query``, an OR of quoted terms); a question hits
when a chunk holding its gold answer is in the top 10.
"""

from __future__ import annotations

import itertools
import random
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from index.terms import content_terms, fts_query
from measure.bench.pg_vectors import percentile

K = 10
TABLE = "pb_bench_chunks"
SENTENCES_PER_CHUNK = 2
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# The FTS5 table and ranking of index/store/_segment.py (title weight 2, body 1).
FTS5_DDL = "CREATE VIRTUAL TABLE chunks_fts USING fts5(title, body, tokenize='porter unicode61')"
FTS5_SQL = "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts, 2.0, 1.0) LIMIT ?"
# PostgreSQL: websearch_to_tsquery reads fts_query's '"a" OR "b c"' as a | (b <-> c).
PG_RANKINGS = {
    "ts_rank_cd": "ts_rank_cd(tsv, q)",
    "ts_rank_cd norm=1": "ts_rank_cd(tsv, q, 1)",
    "ts_rank": "ts_rank(tsv, q)",
    "ts_rank norm=1": "ts_rank(tsv, q, 1)",
}


@dataclass(frozen=True)
class Chunk:
    id: int
    title: str
    body: str


@dataclass(frozen=True)
class Question:
    text: str
    gold: frozenset[int]  # chunk ids holding the answer


@dataclass(frozen=True)
class TextRow:
    backend: str
    method: str
    build_s: float
    p50_ms: float
    p95_ms: float
    hit10: float
    no_match: int  # questions whose query matched no chunk at all
    hits: tuple[bool, ...]  # per question, for the paired comparison with FTS5 (not in the JSON)


def squad_chunks(squad: dict[str, Any], questions: int, seed: int = 24) -> tuple[list[Chunk], list[Question]]:
    """Paragraphs cut into windows of sentences; a question's gold is the window where its answer starts."""
    chunks: list[Chunk] = []
    asked: list[Question] = []
    for article in squad["data"]:
        title = article["title"].replace("_", " ")
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            cuts = [0] + [m.end() for m in _SENTENCE_END.finditer(context)] + [len(context)]
            starts = [*cuts[:-1:SENTENCES_PER_CHUNK], len(context)]
            spans = [(a, b) for a, b in itertools.pairwise(starts) if context[a:b].strip()]
            first = len(chunks)
            chunks += [Chunk(first + i, title, context[a:b].strip()) for i, (a, b) in enumerate(spans)]
            for qa in paragraph["qas"]:
                at = qa["answers"][0]["answer_start"]
                gold = frozenset(first + i for i, (a, b) in enumerate(spans) if a <= at < b)
                if gold:
                    asked.append(Question(qa["question"], gold))
    return chunks, random.Random(seed).sample(asked, min(questions, len(asked)))


def _row(
    backend: str, method: str, build_s: float, search: Callable[[str], list[int]], questions: list[Question]
) -> TextRow:
    """Each question's terms as the store's retrieval builds them, timed one at a time after a warm-up."""
    matches = [fts_query(content_terms(q.text)) for q in questions]
    for m in matches[:5]:
        if m:
            search(m)
    times, hits, empty = [], [], 0
    for q, match in zip(questions, matches, strict=True):
        t0 = time.perf_counter()
        ids = search(match) if match else []
        times.append((time.perf_counter() - t0) * 1000)
        hits.append(bool(q.gold & set(ids)))
        empty += not ids
    hit10 = sum(hits) / len(hits) if hits else 0.0
    return TextRow(backend, method, build_s, percentile(times, 50), percentile(times, 95), hit10, empty, tuple(hits))


def fts5_row(chunks: list[Chunk], questions: list[Question]) -> TextRow:
    with tempfile.TemporaryDirectory(prefix="policybot-pgbench-") as tmp:
        db = sqlite3.connect(Path(tmp, "fts.sqlite"))
        try:
            t0 = time.perf_counter()
            db.execute(FTS5_DDL)
            db.executemany(
                "INSERT INTO chunks_fts(rowid, title, body) VALUES (?,?,?)", [(c.id, c.title, c.body) for c in chunks]
            )
            db.commit()
            build_s = time.perf_counter() - t0
            return _row(
                "files", "fts5 bm25", build_s, lambda m: [r[0] for r in db.execute(FTS5_SQL, (m, K))], questions
            )
        finally:
            db.close()


def _pg_search(conn: Any, sql: str) -> Callable[[str], list[int]]:
    def search(match: str) -> list[int]:
        return [r[0] for r in conn.execute(sql, (match,), prepare=True)]

    return search


def postgres_rows(conn: Any, chunks: list[Chunk], questions: list[Question]) -> list[TextRow]:
    conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    t0 = time.perf_counter()
    conn.execute(
        f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, title text NOT NULL, body text NOT NULL, tsv tsvector "
        "GENERATED ALWAYS AS (setweight(to_tsvector('english', title), 'A') || "
        "setweight(to_tsvector('english', body), 'B')) STORED)"
    )
    with conn.cursor().copy(f"COPY {TABLE} (id, title, body) FROM STDIN") as copy:
        for c in chunks:
            copy.write_row((c.id, c.title, c.body))
    conn.execute(f"CREATE INDEX {TABLE}_tsv ON {TABLE} USING gin (tsv)")
    conn.execute(f"VACUUM ANALYZE {TABLE}")
    build_s = time.perf_counter() - t0
    out = []
    for name, rank in PG_RANKINGS.items():
        sql = (
            f"SELECT id FROM {TABLE}, websearch_to_tsquery('english', %s) q WHERE tsv @@ q "
            f"ORDER BY {rank} DESC LIMIT {K}"
        )
        out.append(_row("postgres", f"tsvector {name}", build_s, _pg_search(conn, sql), questions))
    conn.execute(f"DROP TABLE {TABLE}")
    return out


def text_bench(
    conn: Any, chunks: list[Chunk], questions: list[Question], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    log(f"full text: {len(chunks)} chunks, {len(questions)} questions ...")
    fts5 = fts5_row(chunks, questions)
    out = []
    for r in (fts5, *postgres_rows(conn, chunks, questions)):
        log(f"  {r.backend} {r.method}: p50 {r.p50_ms:.2f} ms, hit@10 {r.hit10:.3f}")
        paired = list(zip(r.hits, fts5.hits, strict=True))
        row = {k: v for k, v in asdict(r).items() if k != "hits"}
        out.append(
            {
                **row,
                "won_vs_fts5": sum(a and not b for a, b in paired),
                "lost_vs_fts5": sum(b and not a for a, b in paired),
            }
        )
    return out
