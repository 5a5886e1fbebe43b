"""Choose the digest's story threshold on real news: ``python -m measure.calibrate.digest [--write]``.

Articles are MultiHop-RAG's evidence articles (title + the facts quoted from them; text nobody on
this project wrote), embedded as the engine embeds a chunk with the engine's model. Labels come
from the data, not from us:

- Positives (same event): two articles from different outlets cited as evidence for the same
  question and published at most two days apart (the other outlet's report of that news).
- Negatives (different stories): two articles never cited for the same question, published at
  most two days apart (what a digest must keep apart: that week's other news).

Positives are noisy (some questions pair a roundup with an unrelated story of the same day), so
recall is understated; precision decides, because a wrong fold hides a story from the digest.
``--write`` stores the table in ``docs/measurements/digest-clusters.md``.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from datetime import datetime
from itertools import combinations
from pathlib import Path

import numpy as np

from index.settings import Settings
from measure.eval.cli import benchmarks_dir

OUT = Path(__file__).resolve().parents[2] / "docs" / "measurements" / "digest-clusters.md"
THRESHOLDS = [round(0.5 + 0.025 * i, 3) for i in range(19)]
MAX_DAYS_APART = 2.0


def articles(path: Path) -> tuple[dict[str, dict[str, object]], dict[str, set[str]]]:
    """url → {title, source, at, text}; url → the questions citing it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    docs: dict[str, dict[str, object]] = {}
    facts: dict[str, list[str]] = defaultdict(list)
    cited: dict[str, set[str]] = defaultdict(set)
    for qid, entry in data.items():
        for ev in entry.get("evidence_list", []):
            url = ev["url"]
            docs.setdefault(url, {"title": ev["title"], "source": ev["source"], "at": datetime.fromisoformat(ev["published_at"])})
            if ev["fact"] not in facts[url]:
                facts[url].append(ev["fact"])
            cited[url].add(qid)
    for url, doc in docs.items():
        doc["text"] = f"{doc['title']}\n{' '.join(facts[url])}"
    return docs, cited


def pairs(docs: dict[str, dict[str, object]], cited: dict[str, set[str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    positives, negatives = [], []
    for a, b in combinations(sorted(docs), 2):
        gap = abs((docs[a]["at"] - docs[b]["at"]).total_seconds()) / 86400  # type: ignore[operator]
        if gap > MAX_DAYS_APART:
            continue
        if cited[a] & cited[b]:
            if docs[a]["source"] != docs[b]["source"]:
                positives.append((a, b))
        else:
            negatives.append((a, b))
    return positives, negatives


def table(pos: np.ndarray, neg: np.ndarray) -> list[str]:
    lines = ["| threshold | precision | recall | F1 | positives kept | negatives folded |", "|---|---|---|---|---|---|"]
    for t in THRESHOLDS:
        tp, fp = int((pos >= t).sum()), int((neg >= t).sum())
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / len(pos) if len(pos) else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        lines.append(f"| {t:.3f} | {precision:.3f} | {recall:.3f} | {f1:.3f} | {tp}/{len(pos)} | {fp}/{len(neg)} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write the table to {OUT}")
    args = parser.parse_args()
    from index.models import make_embedder

    docs, cited = articles(benchmarks_dir(Settings.load()) / "multihop-rag-500" / "ground_truth.json")
    positives, negatives = pairs(docs, cited)
    urls = sorted(docs)
    encoder = make_embedder(Settings(_env_file=None))  # type: ignore[call-arg]
    encoded = encoder.encode_chunks([str(docs[u]["text"]) for u in urls], [[] for _ in urls])
    vectors = {u: e.vector for u, e in zip(urls, encoded, strict=True)}
    pos = np.array([float(vectors[a] @ vectors[b]) for a, b in positives])
    neg = np.array([float(vectors[a] @ vectors[b]) for a, b in negatives])
    lines = table(pos, neg)
    print(f"{len(docs)} articles, {len(positives)} same-event pairs, {len(negatives)} different-story pairs")
    print("\n".join(lines))
    for name, found, scores in (("same-event", positives, pos), ("different-story", negatives, neg)):
        print(f"highest {name} pairs:")
        for i in np.argsort(-scores)[:8].tolist():
            a, b = found[i]
            print(f"  {scores[i]:.3f}  {docs[a]['title']}  |  {docs[b]['title']}")
    if args.write:
        OUT.write_text(OUT.read_text(encoding="utf-8").split("<!-- table -->")[0] + "<!-- table -->\n" + "\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
