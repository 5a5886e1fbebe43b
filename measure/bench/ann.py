"""Vector-layer scale benchmark (issue 12): which approximate index, from which size on.

    .venv/bin/python measure/bench/ann.py --sizes 40000,400000,4000000

Vectors: ~6,300 real passages (SQuAD dev paragraphs and their 3-sentence windows, MultiHop-RAG
evidence) are encoded once with the project's default model (all-MiniLM-L6-v2, 384-d) and cached in
ann-bench/; N synthetic chunk vectors are then made as normalised random mixtures of 2 or 3 of
them (Dirichlet weights) plus Gaussian noise (see ``synthesize``).  Queries are real SQuAD question
embeddings (held out: questions are never mixed in).  Ground truth is the exact top-10 over the
stored float16 rows, i.e. what a flat VectorSet returns.

Each index is built in this process (2 faiss threads) and then served from a fresh subprocess that
opens it through ``index.store._ann.VectorSet`` exactly as the bot would, so RSS is the serving process's
own: VmRSS (current, anon + file-backed pages), RssAnon, VmHWM (peak).  Queries go one at a time,
with faiss.omp_set_num_threads(1) and then 2.  Raw records: ann-bench/<tag>.json, table: .md.
(ru_maxrss is recorded but meaningless in the subprocess: Linux carries the parent's peak across
exec; VmHWM is the serving peak.)  HNSW is not built above --hnsw-max (400k took 169 s, so 4 M
would take ~48 min on 2 cores), nor float32-code kinds whose codes alone exceed --ram-max; an exact
scan of a memory-mapped float16 set above 100k vectors is timed on 20 queries only (seconds each).

    .venv/bin/python measure/bench/ann.py --rss-check 4000000   # after a run at 4 M

re-builds only the default index (``index.store._ann.DEFAULT``) on that run's rows and serves it as the
module now does (rows read by pread), for the memory figure of the chosen configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.settings import Settings
from measure.eval.cli import benchmarks_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

REPO = Path(__file__).resolve().parents[2]
OUT = Path("ann-bench")  # raw records and cached vectors, relative to where the benchmark runs
BASE_CACHE = OUT / "base_embeddings.npz"
NOISE = 0.25  # total norm of the Gaussian noise added to each unit-scale mixture
# ivf_pq (8-bit PQ) is left out by default: in this faiss build (1.15.1) its training took 40 s on
# 3,000 32-d points (each 256-centroid sub-quantizer ~40× slower than faiss.Kmeans on the same
# data), so it cannot be trained at 400k in useful time; ivf_pqfs (4-bit fast-scan) stands for PQ.
KINDS_ORDER = ["flat", "ivf_flat", "ivf_sq8", "ivf_pqfs", "hnsw_flat", "hnsw_sq8"]


def base_texts() -> tuple[list[str], list[str]]:
    """Real passages (SQuAD paragraphs, their 3-sentence windows, MultiHop-RAG evidence) and SQuAD questions."""
    squad = json.loads((benchmarks_dir(Settings.load()) / "squad-dev" / "dev-v1.1.reconstructed.json").read_text())["data"]
    passages: list[str] = []
    questions: list[str] = []
    for article in squad:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            passages.append(context)
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", context) if s]
            passages.extend(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3) if len(sentences) > 3)
            questions.extend(q["question"] for q in paragraph["qas"])
    for item in json.loads((benchmarks_dir(Settings.load()) / "multihop-rag-500" / "ground_truth.json").read_text()).values():
        for evidence in item.get("evidence_list", []):
            passages.append(f"{evidence.get('title', '')}. {evidence.get('fact', '')}")
    return list(dict.fromkeys(passages)), list(dict.fromkeys(questions))


def base_embeddings() -> tuple[np.ndarray, np.ndarray]:
    """Encode once with the project's default model (offline), cached under ann-bench/."""
    if BASE_CACHE.exists():
        cached = np.load(BASE_CACHE)
        return cached["passages"], cached["questions"]
    from index.models import make_embedder
    from index.settings import DEFAULT_MODEL, Settings

    passages, questions = base_texts()
    embedder = make_embedder(Settings(_env_file=None, model=DEFAULT_MODEL))  # type: ignore[call-arg]
    start = time.perf_counter()
    p = embedder.encode(passages)
    q = embedder.encode(questions[:2000])
    print(f"encoded {len(passages)} passages + {len(q)} questions in {time.perf_counter() - start:.0f} s", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(BASE_CACHE, passages=p, questions=q)
    return p, q


# ------------------------------------------------------------------ synthesis


def synthesize(base: np.ndarray, n: int, *, seed: int, noise: float = NOISE) -> np.ndarray:
    """n float16 unit vectors: each a random convex mixture (Dirichlet(1) weights) of 2 or 3 real
    passage embeddings plus isotropic Gaussian noise of total norm ≈ ``noise``, re-normalised.

    The mixtures inherit the real embeddings' clusters and anisotropy (MiniLM vectors share a strong
    common direction); the noise keeps two synthetic vectors from the same pair from coinciding."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float16)
    sigma = noise / np.sqrt(base.shape[1])
    for start in range(0, n, 262_144):
        m = min(n, start + 262_144) - start
        picks = rng.integers(0, len(base), size=(m, 3))
        weights = rng.dirichlet(np.ones(3), size=m).astype(np.float32)
        weights[rng.random(m) < 0.5, 2] = 0.0  # half the rows mix only two passages
        block = np.einsum("mk,mkd->md", weights, base[picks])
        block += sigma * rng.standard_normal(block.shape, dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + m] = block
    return out


def exact_topk(rows: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Ground truth: exact inner-product top-k over the stored (float16) rows, in float32 blocks."""
    best = np.full((len(queries), k), -1, dtype=np.int64)
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    for start in range(0, len(rows), 131_072):
        block = np.asarray(rows[start : start + 131_072], dtype=np.float32)
        scores = queries @ block.T
        ids = np.broadcast_to(np.arange(start, start + len(block)), scores.shape)
        all_s = np.concatenate([best_s, scores], axis=1)
        all_i = np.concatenate([best, ids], axis=1)
        keep = np.argpartition(-all_s, k - 1, axis=1)[:, :k]
        best_s = np.take_along_axis(all_s, keep, axis=1)
        best = np.take_along_axis(all_i, keep, axis=1)
    return best


# ------------------------------------------------------------------ serving (one subprocess per index)


def proc_status() -> dict[str, float]:
    """Current memory of this process in MB (VmRSS = RssAnon + RssFile; VmHWM = peak RSS)."""
    out: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) / 1024
    out["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def serve(spec: dict[str, Any]) -> dict[str, Any]:
    """Open one vector set as the bot would and time single queries; runs in a fresh process."""
    import faiss

    from index.store import AnnParams, VectorSet

    before = proc_status()
    start = time.perf_counter()
    params = AnnParams(kind=spec["kind"]) if spec["kind"] != "flat" else AnnParams()
    vs = VectorSet.open(
        Path(spec["dir"]),
        "chunks",
        in_memory_max=spec["in_memory_max"],
        params=params,
    )
    open_s = time.perf_counter() - start
    opened = proc_status()
    queries = np.load(spec["queries"])[: spec["nq"]]
    truth = np.load(spec["truth"])[: spec["nq"]]
    results = []
    for setting in spec["settings"]:
        if "nprobe" in setting:
            ivf = faiss.extract_index_ivf(vs.index)
            ivf.nprobe = setting["nprobe"]
        if "ef" in setting:
            faiss.downcast_index(vs.index).hnsw.efSearch = setting["ef"]  # type: ignore[attr-defined]
        object.__setattr__(vs, "params", AnnParams(kind=params.kind, rerank=setting.get("rerank", 100)))
        row: dict[str, Any] = {**setting}
        for threads in (1, 2):
            faiss.omp_set_num_threads(threads)
            vs.search(queries[0], 10)  # warm-up
            times, hits = [], 0
            for q, t in zip(queries, truth, strict=True):
                t0 = time.perf_counter()
                ids, _ = vs.search(q, 10)
                times.append(time.perf_counter() - t0)
                hits += len(set(ids.tolist()) & set(t.tolist()))
            row[f"p50_ms_t{threads}"] = 1000 * float(np.percentile(times, 50))
            row[f"p95_ms_t{threads}"] = 1000 * float(np.percentile(times, 95))
            row["recall10"] = hits / (10 * len(queries))
        results.append(row)
    return {
        "open_s": open_s,
        "rss_before": before,
        "rss_opened": opened,
        "rss_after": proc_status(),
        "settings": results,
    }


def run_serve(spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--serve", json.dumps(spec)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ main


SWEEPS: dict[str, list[dict[str, int]]] = {
    "flat": [{}],
    "ivf_flat": [{"nprobe": p} for p in (8, 16, 32, 64)],
    "ivf_sq8": [{"nprobe": p} for p in (8, 16, 32, 64)],
    "ivf_pq": [{"nprobe": p, "rerank": r} for p in (16, 32, 64) for r in (100, 200)],
    "ivf_pqfs": [{"nprobe": p, "rerank": r} for p in (16, 32, 64) for r in (100, 200)],
    "hnsw_flat": [{"ef": e} for e in (64, 128)],
    "hnsw_sq8": [{"ef": e} for e in (100, 200)],
}


def bench_size(n: int, kinds: list[str], base: np.ndarray, questions: np.ndarray, args: argparse.Namespace) -> list:
    from index.store import AnnParams, VectorSet, nlist_for
    from index.store import build_ann_index as build_index

    work = Path(args.work) / f"n{n}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "flat").mkdir(parents=True)
    t0 = time.perf_counter()
    rows = synthesize(base, n, seed=n)
    synth_s = time.perf_counter() - t0
    VectorSet.write(work / "flat", "chunks", rows, ann_min=n + 1)
    rows_file = work / "flat" / "chunks.f16.npy"
    qfile, tfile = work / "queries.npy", work / "truth.npy"
    np.save(qfile, questions)
    t0 = time.perf_counter()
    truth = exact_topk(rows, questions, 10)
    truth_s = time.perf_counter() - t0
    np.save(tfile, truth)
    print(f"n={n}: synthesized in {synth_s:.0f} s, ground truth in {truth_s:.0f} s, nlist={nlist_for(n)}", flush=True)
    out = []
    for kind in kinds:
        rec: dict[str, Any] = {"n": n, "kind": kind, "nlist": nlist_for(n) if kind.startswith("ivf") else None}
        directory = work / "flat"
        if kind == "flat":
            rec["build_s"] = 0.0
        elif kind.startswith("flat"):
            continue
        else:
            directory = work / kind
            directory.mkdir()
            os.link(rows_file, directory / "chunks.f16.npy")
            faiss.omp_set_num_threads(2)
            t0 = time.perf_counter()
            index = build_index(rows, None, AnnParams(kind=kind))
            rec["build_s"] = time.perf_counter() - t0
            faiss.write_index(index, str(directory / f"chunks.{kind}.faiss"))
            extra = synthesize(base, 4000, seed=n + 7).astype(np.float32)  # one increment: 1,000 articles
            t0 = time.perf_counter()
            index.add(extra)
            rec["add_4000_s"] = time.perf_counter() - t0
            rec["disk_index_mb"] = (directory / f"chunks.{kind}.faiss").stat().st_size / 2**20
            del index
        rec["disk_rows_mb"] = rows_file.stat().st_size / 2**20
        modes = [("ram", 10**12), ("mmap", 0)] if kind == "flat" else [("mmap", 0)]
        for mode, limit in modes:
            if kind == "flat" and mode == "ram" and n * 384 * 4 > 3 * 2**30:
                continue  # a float32 copy would not fit the 4 GB budget anyway
            spec = {
                "dir": str(directory),
                "kind": kind,
                "in_memory_max": limit,
                "queries": str(qfile),
                "truth": str(tfile),
                "settings": SWEEPS[kind],
                "nq": args.queries if not (kind == "flat" and mode == "mmap" and n > 100_000) else 20,
            }
            served = run_serve(spec)
            row = {**rec, "kind": f"{kind}" if kind != "flat" else f"flat-{mode}", **served}
            out.append(row)
            print(json.dumps(summary_rows([row])), flush=True)
        if kind != "flat":
            shutil.rmtree(directory)
    return out


def rss_check(n: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Serving latency, recall and RSS of the default ANN set as ``index.store._ann`` now reads it (reuses
    the rows, queries and ground truth a previous run left in the work folder).  More queries than
    the sweep (all cached question vectors, recall on the first ``--queries``), to show whether RSS
    creeps with use."""
    from index.store import ANN_DEFAULT as DEFAULT
    from index.store import build_ann_index as build_index

    work = Path(args.work) / f"n{n}"
    directory = work / "rsscheck"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    os.link(work / "flat" / "chunks.f16.npy", directory / "chunks.f16.npy")
    t0 = time.perf_counter()
    index = build_index(np.load(work / "flat" / "chunks.f16.npy", mmap_mode="r"), None, DEFAULT)
    build_s = time.perf_counter() - t0
    faiss.write_index(index, str(directory / f"chunks.{DEFAULT.kind}.faiss"))
    del index
    out = []
    for nq in (args.queries,):
        spec = {
            "dir": str(directory),
            "kind": DEFAULT.kind,
            "in_memory_max": 0,
            "queries": str(work / "queries.npy"),
            "truth": str(work / "truth.npy"),
            "settings": [{"nprobe": DEFAULT.nprobe}],
            "nq": nq,
        }
        served = run_serve(spec)
        rec = {
            "n": n,
            "kind": f"{DEFAULT.kind} (default, rows by pread)",
            "build_s": build_s,
            "disk_rows_mb": (directory / "chunks.f16.npy").stat().st_size / 2**20,
            "disk_index_mb": (directory / f"chunks.{DEFAULT.kind}.faiss").stat().st_size / 2**20,
            **served,
        }
        out.append(rec)
        print(json.dumps(summary_rows([rec])), flush=True)
    shutil.rmtree(directory)
    return out


def summary_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in records:
        if "error" in r:
            rows.append({"n": r["n"], "kind": r["kind"], "error": r["error"][-300:]})
            continue
        for s in r["settings"]:
            knob = ",".join(f"{k}={v}" for k, v in s.items() if k in ("nprobe", "ef", "rerank"))
            rows.append(
                {
                    "n": r["n"],
                    "kind": r["kind"],
                    "knobs": knob,
                    "build_s": round(r.get("build_s", 0.0), 1),
                    "add_4000_s": round(r["add_4000_s"], 3) if "add_4000_s" in r else None,
                    "p50_t1": round(s["p50_ms_t1"], 2),
                    "p95_t1": round(s["p95_ms_t1"], 2),
                    "p50_t2": round(s["p50_ms_t2"], 2),
                    "p95_t2": round(s["p95_ms_t2"], 2),
                    "recall10": round(s["recall10"], 4),
                    "rss_mb": round(r["rss_after"]["VmRSS"]),
                    "rss_anon_mb": round(r["rss_after"]["RssAnon"]),
                    "peak_mb": round(r["rss_after"]["VmHWM"]),
                    "disk_mb": round(r["disk_rows_mb"] + r.get("disk_index_mb", 0.0)),
                }
            )
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    cols = [
        "n",
        "kind",
        "knobs",
        "build_s",
        "add_4000_s",
        "p50_t1",
        "p95_t1",
        "p50_t2",
        "p95_t2",
        "recall10",
        "rss_mb",
        "rss_anon_mb",
        "peak_mb",
        "disk_mb",
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="40000,400000,4000000")
    parser.add_argument("--kinds", default=",".join(KINDS_ORDER))
    parser.add_argument("--hnsw-max", type=int, default=400_000, help="no HNSW builds above this (too slow on 2 cores)")
    parser.add_argument("--ram-max", type=int, default=4000, help="MB: skip kinds whose index alone exceeds this")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--work", default="ann-bench", help="folder for the vectors, indexes and raw records")
    parser.add_argument("--tag", default="run")
    parser.add_argument("--rss-check", type=int, help="n: build and serve only the default ANN (after a run at n)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve(json.loads(args.serve))))
        return
    if args.rss_check:
        checked = rss_check(args.rss_check, args)
        (OUT / f"{args.tag}.json").write_text(json.dumps(checked, indent=1))
        print(markdown(summary_rows(checked)))
        return
    base, questions = base_embeddings()
    questions = questions[: args.queries]
    print(f"base: {len(base)} real passage vectors; {len(questions)} real SQuAD question vectors", flush=True)
    records: list[dict[str, Any]] = []
    for n in (int(s) for s in args.sizes.split(",")):
        kinds = []
        for kind in args.kinds.split(","):
            if kind.startswith("hnsw") and n > args.hnsw_max:
                continue
            if kind in ("ivf_flat", "hnsw_flat") and n * 384 * 4 / 2**20 > args.ram_max:
                continue  # float32 codes alone exceed the RSS budget
            kinds.append(kind)
        records += bench_size(n, kinds, base, questions, args)
        (OUT / f"{args.tag}.json").write_text(json.dumps(records, indent=1))
    rows = summary_rows(records)
    (OUT / f"{args.tag}.md").write_text(markdown(rows) + "\n")
    print(markdown(rows))


if __name__ == "__main__":
    main()
