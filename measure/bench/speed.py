"""``policybot bench``: build throughput, rebuild time, query latency and memory, as ratios in one run.

Speeds vary between machines (some lack AVX2), so the headline numbers are ratios against a
baseline measured in the same process: the raw model's ``encode`` on the same chunk texts.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from index.corpus import chunk_article, embedding_text, load_corpus
from index.engine import Engine
from index.models import make_embedder, token_budget
from index.settings import Settings
from measure import synthetic as synthetic
from measure.bench import postgres as postgres
from measure.bench import scale as scale


def add_subparser(sub: Any) -> None:
    p = sub.add_parser("bench", help="measure build throughput, rebuild time, query latency, memory")
    p.add_argument("--articles", type=int, default=5000, help="synthetic articles to generate (default 5000)")
    p.add_argument("--corpus", help="benchmark this corpus instead of a synthetic one")
    p.add_argument("--queries", type=int, default=300, help="questions for the latency run (default 300)")
    p.add_argument(
        "--baseline-chunks", type=int, default=2000, help="chunks for the raw-encode baseline (0 = all; default 2000)"
    )
    p.add_argument("--model", help="sentence-transformers model name or path")
    p.add_argument("--json", help="also write the results to this JSON file")
    scale.add_arguments(p)
    postgres.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.scale:
        return scale.main_scale(args, settings)
    if args.backend == "postgres":
        return postgres.main(args, settings)
    results = bench(
        settings,
        articles=args.articles,
        corpus=Path(args.corpus) if args.corpus else None,
        queries=args.queries,
        baseline_chunks=args.baseline_chunks,
        log=lambda msg: print(msg, file=sys.stderr, flush=True),
    )
    print(format_results(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def bench(
    base: Settings,
    *,
    articles: int,
    corpus: Path | None,
    queries: int,
    baseline_chunks: int,
    log: Any = print,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="policybot-bench-") as tmp:
        root = Path(tmp)
        if corpus is None:
            corpus = root / "corpus"
            log(f"writing {articles} synthetic articles ...")
            synthetic.write_corpus(corpus, articles)
        settings = base.with_(data_dir=root / "data", corpus_dir=corpus)
        started = time.perf_counter()
        embedder = make_embedder(settings)
        load_seconds = time.perf_counter() - started

        texts = _chunk_texts(corpus, settings)
        sample = texts if baseline_chunks <= 0 else random.Random(3).sample(texts, min(baseline_chunks, len(texts)))
        log(f"baseline: raw encode of {len(sample)} of {len(texts)} chunks ...")
        embedder.encode(sample[:64])  # warm-up: the first batches pay for allocation
        started = time.perf_counter()
        embedder.encode(sample)
        baseline_rate = len(sample) / (time.perf_counter() - started)

        log("full build ...")
        engine = Engine(settings, embedder=embedder)
        full = engine.build()
        build_rate = full.chunks_total / full.seconds
        log("no-change rebuild ...")
        again = engine.build()

        engine.warm()  # as the bot and chat do before the first question (NER model, IDF table)
        asked = synthetic.questions(queries + 20)
        for q in asked[:20]:
            engine.ask(q)
        ask_ms, search_ms = [], []
        for q in asked[20:]:
            t0 = time.perf_counter()
            engine.ask(q)
            ask_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            engine.search(q, k=10)
            search_ms.append((time.perf_counter() - t0) * 1000)
        return {
            "articles": full.articles,
            "chunks": full.chunks_total,
            "model_load_s": round(load_seconds, 2),
            "baseline_encode_chunks_per_s": round(baseline_rate, 1),
            "build_chunks_per_s": round(build_rate, 1),
            "build_vs_baseline": round(build_rate / baseline_rate, 3),
            "full_build_s": round(full.seconds, 1),
            "nochange_rebuild_s": round(again.seconds, 2),
            "nochange_vs_full": round(again.seconds / full.seconds, 4),
            "ask_ms_p50": round(_percentile(ask_ms, 50), 1),
            "ask_ms_p95": round(_percentile(ask_ms, 95), 1),
            "search_ms_p50": round(_percentile(search_ms, 50), 1),
            "search_ms_p95": round(_percentile(search_ms, 95), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
            "cpu_avx2": _has_avx2(),
        }


def _chunk_texts(corpus: Path, settings: Settings) -> list[str]:
    """Exactly the texts a build embeds, so the baseline encodes the same work."""
    articles, _ = load_corpus(corpus)
    texts = []
    for article in articles:
        budget = token_budget(settings.model, settings.chunk_tokens)
        chunked = chunk_article(article, settings.chunk_sentences, settings.chunk_overlap, budget)
        texts += [embedding_text(article.title, c.text) for c in chunked.chunks]
    return texts


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def _has_avx2() -> bool | None:
    try:
        return " avx2" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return None


def format_results(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"corpus            {r['articles']} articles, {r['chunks']} chunks (AVX2: {r['cpu_avx2']})",
            f"raw encode        {r['baseline_encode_chunks_per_s']} chunks/s (baseline, same process)",
            f"full build        {r['build_chunks_per_s']} chunks/s = {r['build_vs_baseline']:.2f} x baseline"
            f" ({r['full_build_s']} s)",
            f"no-change rebuild {r['nochange_rebuild_s']} s = {r['nochange_vs_full']:.3f} x full build",
            f"ask latency       p50 {r['ask_ms_p50']} ms, p95 {r['ask_ms_p95']} ms",
            f"search latency    p50 {r['search_ms_p50']} ms, p95 {r['search_ms_p95']} ms",
            f"peak memory       {r['peak_rss_mb']:.0f} MB RSS",
        ]
    )
