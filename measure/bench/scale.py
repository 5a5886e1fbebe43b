"""``policybot bench --scale``: how query time, memory, disk and build times grow with the corpus.

Embedding a million texts would take days on a small CPU, so the corpus is synthetic text
(measure.synthetic, written as real Markdown files and built through the real build path)
and the vectors come from :class:`SyntheticEncoder`: clustered, anisotropic unit vectors (one of
4,096 topic centres per article, an article offset, chunk and sentence noise), which is how real
sentence embeddings sit in space. Everything else is the engine as it runs: corpus scan, chunking,
SQLite/FTS5, segments, IVF above ``POLICYBOT_ANN_MIN_ROWS``, memory-mapped float16 vectors.

Each size runs its serving measurements in a fresh process, so peak RSS is that of a process that
loads the index and answers questions, not of the one that built it. Speeds are reported as
measured and as ratios to the smallest size of the same run.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.models import EncodedChunk, Span
from index.settings import Settings
from index.store import current_version

DIM = 384
TOPICS = 4096
INCREMENT = 1000
_REPORT = re.compile(r"\(report (\d+)\)")


class SyntheticEncoder:
    """Deterministic clustered vectors in place of a model (see the module docstring)."""

    name = "synthetic-clustered-384"
    dim = DIM

    def __init__(self) -> None:
        rng = np.random.default_rng(20261127)
        spectrum = 1.0 / np.sqrt(1.0 + np.arange(DIM) / 24.0)  # a few strong directions, like real embeddings
        centres = rng.standard_normal((TOPICS, DIM)) * spectrum
        self.centres = (centres / np.linalg.norm(centres, axis=1, keepdims=True)).astype(np.float32)
        self.spectrum = spectrum.astype(np.float32)

    def signature(self) -> dict[str, object]:
        return {"model": self.name, "dim": DIM}

    def _noise(self, rng: np.random.Generator, rows: int, size: float) -> np.ndarray:
        """Anisotropic noise of norm ``size`` per row (the centres have norm 1)."""
        noise = rng.standard_normal((rows, DIM)).astype(np.float32) * self.spectrum
        return size * noise / np.linalg.norm(noise, axis=1, keepdims=True)

    def _article(self, n: int) -> np.ndarray:
        # cos(article, its topic centre) ≈ 0.9; two articles of one topic ≈ 0.8, of two topics ≈ 0.1
        return self.centres[n % TOPICS] + self._noise(np.random.default_rng(n), 1, 0.5)[0]

    def encode_chunks(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], progress: Callable[[int], None] | None = None
    ) -> list[EncodedChunk]:
        out = []
        for text, text_spans in zip(texts, spans, strict=True):
            match = _REPORT.search(text)
            n = int(match.group(1)) if match else zlib.crc32(text.encode())
            rng = np.random.default_rng(zlib.crc32(text.encode()))
            chunk = self._article(n) + self._noise(rng, 1, 0.35)[0]
            sentences = chunk + self._noise(rng, len(text_spans), 0.5)
            out.append(EncodedChunk(_unit(chunk), _unit(sentences)))
        if progress:
            progress(len(texts))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        match = _REPORT.search(text)
        n = int(match.group(1)) if match else zlib.crc32(text.encode())
        rng = np.random.default_rng(zlib.crc32(text.encode()) + 1)
        return _unit(self._article(n) + self._noise(rng, 1, 0.5)[0])

    def encode(self, texts: Sequence[str], prompt: str | None = None) -> np.ndarray:
        return np.vstack([self.encode_query(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.maximum(norm, 1e-12)).astype(np.float32)


def bench_settings(base: Settings, work: Path, size: int) -> Settings:
    """Sentence windows of 3 overlapping by 1 give ~4 chunks per synthetic article (~120 words),
    the density of real news chunked by token budget (about 4 chunks per 600 words)."""
    changes: dict[str, Any] = {
        "corpus_dir": work / f"corpus-{size}",
        "data_dir": work / f"data-{size}",
        "chunk_sentences": 3,
        "chunk_overlap": 1,
        "model": SyntheticEncoder.name,
        "keep_versions": 2,
    }
    if "chunk_tokens" in type(base).model_fields:
        changes["chunk_tokens"] = 0  # sentence windows, as documented above
    return base.with_(**changes)


def write_articles(folder: Path, first: int, count: int) -> list[Path]:
    """Synthetic Markdown articles ``first..first+count-1``, numbered in their titles; returns the
    files it wrote (existing ones are kept)."""
    import random

    from index.corpus import render_markdown
    from measure import synthetic as synthetic

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for n in range(first, first + count):
        sub = folder / f"{n // 10_000:04d}"  # 10,000 files per folder, as a real archive would shard them
        sub.mkdir(exist_ok=True)
        path = sub / f"synthetic-{n:07d}.md"
        if path.exists():
            continue
        title, body, published = synthetic.article_text(random.Random(n), n)
        path.write_text(
            render_markdown(title=title, source="synthetic", url=f"https://example.org/s/{n}", published=published, body=body)
        )
        written.append(path)
    return written


def age_corpus(folder: Path, days: int = 30) -> None:
    """Date the base corpus a month back: an archive's files are old, and a file modified seconds
    before a scan is always re-read (index.store._scan), which is not what is being measured."""
    import os

    past = time.time_ns() - days * 86_400 * 10**9
    for path in folder.rglob("*.md"):
        os.utime(path, ns=(past, past))


def _build(settings: Settings, changed: list[Path] | None = None) -> dict[str, Any]:
    from index.store import build_index

    started = time.perf_counter()
    report = build_index(settings, embedder=SyntheticEncoder(), changed=changed)
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "articles": report.articles,
        "added": report.added,
        "chunks_embedded": report.chunks_embedded,
        "chunks_total": report.chunks_total,
    }


def serve(settings: Settings, queries: int, size: int) -> dict[str, Any]:
    """Load the live index and answer ``queries`` searches; runs in its own process."""
    import faiss

    from index.engine import Engine
    from measure import synthetic as synthetic

    faiss.omp_set_num_threads(1)  # one question at a time, as the bot asks them
    started = time.perf_counter()
    engine = Engine(settings, embedder=SyntheticEncoder())
    snap = engine.snapshot()
    load_seconds = time.perf_counter() - started
    rng = np.random.default_rng(5)
    texts = synthetic.questions(queries)
    targets = rng.integers(0, size, len(texts))
    asks = [f"{t} (report {n})" for t, n in zip(texts, targets.tolist(), strict=True)]
    engine.search(asks[0], k=10)  # first-question costs (idf table, caches) are not latency
    times = []
    for text in asks:
        t0 = time.perf_counter()
        engine.search(text, k=10)
        times.append((time.perf_counter() - t0) * 1000)
    # VmHWM, not getrusage's ru_maxrss: the latter starts from the forking parent's RSS (the
    # builder's), while VmHWM belongs to this process's own address space since exec.
    status = _proc_status()
    current, peak = status.get("VmRSS", 0), status.get("VmHWM", 0)  # read before the exact scan below
    recall = _recall_at_10(snap, [engine.embedder.encode_query(t) for t in asks[:50]])
    times.sort()
    return {
        "load_seconds": round(load_seconds, 2),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "recall_at_10": recall,
        "peak_rss_mb": round(peak / 1024),
        "rss_mb": round(current / 1024),
        "chunks": int(snap.chunk_alive.sum()),
        "sentences": len(snap.sentence_article),
        "segments": [{"name": s.name, "chunks": s.counts["chunks"], "ann": s.chunks.kind} for s in snap.segments],
    }


def _proc_status() -> dict[str, int]:
    """This process's memory counters in KiB (Linux); empty where /proc is missing."""
    try:
        with open("/proc/self/status") as fh:
            return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in fh) if v.strip().endswith("kB")}
    except OSError:
        return {"VmHWM": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def _recall_at_10(snap: Any, vectors: list[np.ndarray]) -> float:
    """The served dense top 10 against an exact scan of every stored chunk row."""
    hits = total = 0
    for vector in vectors:
        got = set(snap.dense(vector, 10)[0].tolist())
        exact = _exact_top(snap, vector, 10)
        hits += len(got & exact)
        total += len(exact)
    return round(hits / max(total, 1), 4)


def _exact_top(snap: Any, vector: np.ndarray, k: int) -> set[int]:
    best_ids = np.zeros(0, dtype=np.int64)
    best = np.zeros(0, dtype=np.float32)
    n = len(snap.chunk_alive)
    for start in range(0, n, 262_144):
        stop = min(n, start + 262_144)
        scores = snap.chunk_vectors[start:stop] @ vector
        ids = np.arange(start, stop)
        ids, scores = np.concatenate([best_ids, ids]), np.concatenate([best, scores])
        keep = np.argsort(-scores)[:k]
        best_ids, best = ids[keep], scores[keep]
    return set(best_ids.tolist())


def _disk_mb(data_dir: Path) -> float:
    return round(sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file()) / 2**20, 1)


def measure_size(settings: Settings, work: Path, size: int, queries: int, keep_base: bool = False) -> dict[str, Any]:
    """Corpus, base build, serving (own process), a 1,000-article increment, a no-change rebuild.

    ``keep_base`` reuses a kept folder's index (a million-article base build takes most of an
    hour): the increment's files are removed and one build takes the index back to ``size``.
    """
    s = bench_settings(settings, work, size)
    reuse = keep_base and current_version(s.data_dir) is not None
    if not reuse:
        shutil.rmtree(s.data_dir, ignore_errors=True)  # a kept folder is reused for its corpus, not its index
    for n in range(size, size + 2 * INCREMENT):  # the increments are written anew
        (s.corpus_dir / f"{n // 10_000:04d}" / f"synthetic-{n:07d}.md").unlink(missing_ok=True)
    t0 = time.perf_counter()
    write_articles(s.corpus_dir, 0, size)
    if not reuse:  # (ageing again would change every file's time: the reused index would read them all)
        age_corpus(s.corpus_dir)
    row: dict[str, Any] = {"articles": size, "corpus_write_seconds": round(time.perf_counter() - t0, 1)}
    print(f"[{size}] corpus written ({row['corpus_write_seconds']} s); building…", file=sys.stderr, flush=True)
    row["base_build"] = _build(s)
    row["base_build"]["reused_index"] = reuse
    print(f"[{size}] base build {row['base_build']['seconds']} s; serving…", file=sys.stderr, flush=True)
    row["serve"] = _child(s, "serve", size, queries)
    # The feeds' way: the build is told which files were written. Then the same again with no list,
    # so the build compares every corpus file with the last scan (a moderator's reindex).
    row["increment"] = _build(s, changed=write_articles(s.corpus_dir, size, INCREMENT))
    write_articles(s.corpus_dir, size + INCREMENT, INCREMENT)
    row["increment_walk"] = _build(s)
    row["no_change"] = _build(s)
    row["serve_after_increment"] = _child(s, "serve", size + 2 * INCREMENT, queries // 2)
    row["disk_mb"] = _disk_mb(s.data_dir)
    print(f"[{size}] {json.dumps(row)}", file=sys.stderr, flush=True)
    return row


def _child(settings: Settings, phase: str, size: int, queries: int) -> dict[str, Any]:
    """Run ``phase`` in a fresh interpreter (its own peak RSS) and return its JSON result."""
    payload = json.dumps({"settings": settings.model_dump(mode="json"), "size": size, "queries": queries})
    out = subprocess.run(
        [sys.executable, "-m", "measure.bench.scale", phase], input=payload, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{phase} at {size} failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run_scale(
    settings: Settings, sizes: list[int], work: Path | None, queries: int, keep: bool, keep_base: bool = False
) -> dict[str, Any]:
    folder = work or Path(__import__("tempfile").mkdtemp(prefix="policybot-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for size in sizes:
            rows.append(measure_size(settings, folder, size, queries, keep_base))
    finally:
        if not keep and work is None:
            shutil.rmtree(folder, ignore_errors=True)
    base = rows[0]
    for row in rows:
        row["ratios_to_smallest"] = {
            "p50": round(row["serve"]["p50_ms"] / max(base["serve"]["p50_ms"], 1e-6), 2),
            "increment": round(row["increment"]["seconds"] / max(base["increment"]["seconds"], 1e-6), 2),
            "increment_walk": round(row["increment_walk"]["seconds"] / max(base["increment_walk"]["seconds"], 1e-6), 2),
            "no_change": round(row["no_change"]["seconds"] / max(base["no_change"]["seconds"], 1e-6), 2),
        }
    return {"vectors": "synthetic clustered (SyntheticEncoder)", "text": "synthetic Markdown", "rows": rows}


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| articles | chunks | search p50 / p95 | recall@10 vs exact | peak RSS (serving) | disk | +1,000 articles (files named) | +1,000 articles (corpus walk) | no-change rebuild | base build |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["rows"]:
        s = r["serve"]
        lines.append(
            f"| {r['articles']:,} | {s['chunks']:,} | {s['p50_ms']:.0f} / {s['p95_ms']:.0f} ms | {s['recall_at_10']:.3f} | "
            f"{s['peak_rss_mb']:,} MB | {r['disk_mb'] / 1024:.1f} GB | {r['increment']['seconds']:.1f} s | "
            f"{r['increment_walk']['seconds']:.1f} s | "
            f"{r['no_change']['seconds']:.1f} s | {r['base_build']['seconds'] / 60:.1f} min |"
        )
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scale", help="comma-separated corpus sizes for the scale curve, e.g. 10000,100000,1000000 (synthetic)"
    )
    p.add_argument("--scale-dir", type=Path, help="keep the scale corpora and indexes here (reused by later runs)")
    p.add_argument(
        "--scale-keep-base", action="store_true", help="with --scale-dir: reuse each size's kept index as the base"
    )


def main_scale(args: argparse.Namespace, settings: Settings) -> int:
    try:
        sizes = [int(x) for x in str(args.scale).split(",") if x.strip()]
    except ValueError:
        print("error: --scale takes comma-separated article counts, e.g. 10000,100000", file=sys.stderr)
        return 2
    if not sizes or min(sizes) < 10:
        print("error: --scale sizes must be at least 10 articles", file=sys.stderr)
        return 2
    result = run_scale(
        settings, sizes, args.scale_dir, args.queries, keep=args.scale_dir is not None,
        keep_base=bool(args.scale_keep_base and args.scale_dir),
    )
    print(markdown(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def _main() -> None:
    """Child process entry: read {settings, size, queries} on stdin, print one JSON line."""
    payload = json.loads(sys.stdin.read())
    settings = Settings(_env_file=None, **payload["settings"])  # type: ignore[call-arg]
    if sys.argv[1] == "serve":
        print(json.dumps(serve(settings, payload["queries"], payload["size"])))
    else:
        raise SystemExit(f"unknown phase {sys.argv[1]}")


if __name__ == "__main__":
    _main()
