"""``policybot bench --backend postgres`` on a few hundred vectors and a tiny SQuAD-shaped set, against
a real PostgreSQL with pgvector: every method reports, and exact pgvector finds numpy's top ids."""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg

from bot.cli import build_parser
from measure import cli as measure_cli
from measure.bench import pg_text, postgres

TOPICS = ["ransomware", "encryption", "phishing", "firewall", "sanctions", "botnet"]


def tiny_squad() -> dict[str, Any]:
    """Two articles, one paragraph per topic; each question names its topic and asks about the
    paragraph's second sentence, so its gold is that paragraph's second chunk."""
    paragraphs = []
    for i, topic in enumerate(TOPICS):
        first = f"The agency published a report on {topic} in spring. It was widely read."
        second = f"Officials said the {topic} unit number {i}{i}7 grew quickly."
        context = f"{first} {second}"
        answer = f"{i}{i}7"
        paragraphs.append(
            {
                "context": context,
                "qas": [
                    {
                        "question": f"Which {topic} unit grew quickly?",
                        "answers": [{"text": answer, "answer_start": context.index(answer)}],
                    }
                ],
            }
        )
    return {
        "data": [
            {"title": "Cyber_policy", "paragraphs": paragraphs[:3]},
            {"title": "Cyber_law", "paragraphs": paragraphs[3:]},
        ]
    }


def test_chunks_follow_sentences_and_gold_is_the_answer_chunk() -> None:
    chunks, questions = pg_text.squad_chunks(tiny_squad(), questions=100)
    assert len(chunks) == 2 * len(TOPICS)  # 3 sentences per paragraph, 2 per chunk
    assert chunks[0].title == "Cyber policy" and chunks[0].body.endswith("It was widely read.")
    assert len(questions) == len(TOPICS)
    for q in questions:
        (gold,) = q.gold
        topic = next(t for t in TOPICS if t in q.text)
        assert topic in chunks[gold].body and "grew quickly" in chunks[gold].body


def test_bench_against_postgres(postgres_url: str) -> None:
    rng = np.random.default_rng(5)
    base = rng.standard_normal((40, 384)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    queries = base[:12] + 0.1 * rng.standard_normal((12, 384)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    result = postgres.bench(
        postgres_url, base=base, queries=queries, sizes=[300], squad=tiny_squad(), questions=50, log=lambda _: None
    )

    methods = {(r["backend"], r["method"]) for r in result["vector"]}
    assert methods == {
        ("files", "numpy exact"),
        ("files", "faiss ivf"),
        ("postgres", "pgvector exact"),
        ("postgres", "pgvector hnsw"),
        ("postgres", "pgvector ivfflat"),
    }
    by_method = {r["method"]: r for r in result["vector"]}
    assert by_method["numpy exact"]["recall10"] == 1.0
    assert by_method["pgvector exact"]["recall10"] == 1.0  # the same top ids as the numpy scan
    assert by_method["pgvector exact"]["uses_index"] is True  # a plan without any index
    for row in result["vector"]:
        assert row["n"] == 300 and 0.0 <= row["recall10"] <= 1.0 and row["p95_ms"] >= row["p50_ms"] > 0.0
        if row["method"] in ("pgvector hnsw", "pgvector ivfflat"):
            assert row["uses_index"] is True and row["build_s"] > 0.0

    assert result["chunks"] == 2 * len(TOPICS) and result["questions"] == len(TOPICS)
    text = {r["method"]: r for r in result["text"]}
    assert set(text) == {"fts5 bm25", *(f"tsvector {name}" for name in pg_text.PG_RANKINGS)}
    assert text["fts5 bm25"]["hit10"] == 1.0 and text["tsvector ts_rank_cd"]["hit10"] == 1.0
    assert all(r["no_match"] == 0 for r in result["text"])
    assert text["fts5 bm25"]["won_vs_fts5"] == text["fts5 bm25"]["lost_vs_fts5"] == 0
    assert all(r["lost_vs_fts5"] == round((1.0 - r["hit10"]) * len(TOPICS)) for r in result["text"])

    table = postgres.format_results(result)
    assert "pgvector hnsw" in table and "fts5 bm25" in table and "tsvector ts_rank_cd" in table
    with psycopg.connect(postgres_url) as conn:  # the bench leaves no tables behind
        left = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'pb_bench_%'").fetchone()
    assert left == (0,)


def test_cli_offers_the_postgres_backend() -> None:
    args = build_parser(measure_cli).parse_args(
        ["bench", "--backend", "postgres", "--pg-sizes", "500", "--json", "x.json"]
    )
    assert args.backend == "postgres" and args.pg_sizes == "500" and args.json == "x.json"
