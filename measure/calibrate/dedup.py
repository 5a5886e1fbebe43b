"""Choose the near-duplicate threshold on real text: ``python -m measure.calibrate.dedup [--write]``.

Documents are real text nobody on this project wrote: SQuAD dev paragraphs (three consecutive
paragraphs of one Wikipedia article make a news-length document) and MultiHop-RAG evidence facts
grouped by their source article (title + facts of one news article).

- Positives: a document vs. a realistically edited copy, the way a wire story is republished:
  a different headline line, a dateline and byline added, a "Reporting by…" tail, sentences
  dropped or swapped, a few words substituted. Three edit levels (light, medium, heavy).
- Negatives: two different documents on the same topic: other paragraphs of the same SQuAD
  article, and other outlets' articles cited as evidence for the same MultiHop-RAG question
  (often the same news event, which is exactly the case that must not be folded).

For each shingle size the script prints precision and recall of "estimated Jaccard ≥ t" for a
range of thresholds; ``--write`` stores the table in ``docs/measurements/dedup-threshold.md``.
Deterministic (fixed seeds); about 10 s.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np

from index.feeds import dedup as minhash
from index.settings import Settings
from measure.eval.cli import benchmarks_dir

OUT = Path(__file__).resolve().parents[2] / "docs" / "measurements" / "dedup-threshold.md"
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(])")
THRESHOLDS = [round(0.1 + 0.05 * i, 2) for i in range(17)]
DATELINES = ["WASHINGTON (Reuters) - ", "LONDON, March 3 (AP) — ", "BRUSSELS (AFP) - ", "NEW YORK — "]
BYLINES = ["By Jane Doe", "By Staff Reporter", "By Alex Kim and Sam Lee, Associated Press"]
TAILS = [
    "Reporting by Jane Doe; Editing by John Smith",
    "Copyright 2024 The Associated Press. All rights reserved.",
    "",
]


def squad_documents(path: Path, per_article: int = 4) -> dict[str, list[str]]:
    """Topic → documents of three consecutive paragraphs each."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    topics: dict[str, list[str]] = {}
    for article in data:
        paras = [p["context"] for p in article["paragraphs"]]
        docs = ["\n\n".join(paras[i : i + 3]) for i in range(0, len(paras) - 2, 3)][:per_article]
        if len(docs) >= 2:
            topics[f"squad:{article['title']}"] = docs
    return topics


def multihop_documents(path: Path) -> dict[str, list[str]]:
    """Question → the distinct news articles cited as its evidence (title + their facts)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    facts: dict[str, list[str]] = defaultdict(list)
    titles: dict[str, str] = {}
    groups: dict[str, set[str]] = defaultdict(set)
    for qid, entry in data.items():
        for ev in entry.get("evidence_list", []):
            url = ev["url"]
            titles[url] = ev["title"]
            if ev["fact"] not in facts[url]:
                facts[url].append(ev["fact"])
            groups[f"multihop:{qid}"].add(url)
    docs = {url: titles[url] + "\n\n" + " ".join(fs) for url, fs in facts.items()}
    return {g: [docs[u] for u in sorted(urls)] for g, urls in groups.items() if len(urls) >= 2}


def edit(text: str, level: str, rng: random.Random, vocab: list[str]) -> str:
    """A republished copy: headline line, dateline, byline, tail, sentence drops/swaps, word swaps."""
    sentences = [s for s in _SENT.split(text.replace("\n\n", " ")) if s.strip()]
    drops, swaps, subs = {
        "light": (0, 0, 0.01),
        "medium": (1, 1, 0.03),
        "heavy": (max(2, len(sentences) // 5), 2, 0.06),
    }[level]
    for _ in range(min(drops, max(0, len(sentences) - 3))):
        sentences.pop(rng.randrange(1, len(sentences)))  # keep the lead; trim elsewhere
    for _ in range(swaps):
        if len(sentences) > 2:
            i = rng.randrange(1, len(sentences) - 1)
            sentences[i], sentences[i + 1] = sentences[i + 1], sentences[i]
    tokens = " ".join(sentences).split(" ")
    for _ in range(int(len(tokens) * subs)):
        tokens[rng.randrange(len(tokens))] = rng.choice(vocab)
    body = rng.choice(DATELINES) + " ".join(tokens)
    headline = "Officials respond as " + " ".join(rng.sample(vocab, 6))
    parts = [headline, rng.choice(BYLINES), body, rng.choice(TAILS)]
    return "\n\n".join(p for p in parts if p)


def evaluate(size: int, topics: dict[str, list[str]], seed: int = 7) -> tuple[list[float], dict[str, list[float]]]:
    """Negative scores and positive scores per edit level, for one shingle size."""
    rng = random.Random(seed)
    vocab = sorted({w for docs in topics.values() for d in docs for w in minhash.words(d) if len(w) > 3})
    sigs: dict[str, np.ndarray] = {}

    def sig(text: str) -> np.ndarray | None:
        if text not in sigs:
            s = minhash.signature(text, size=size, num_perm=minhash.NUM_PERM, min_words=minhash.MIN_WORDS)
            if s is None:
                return None
            sigs[text] = s
        return sigs[text]

    negatives: list[float] = []
    positives: dict[str, list[float]] = {"light": [], "medium": [], "heavy": []}
    for _topic, docs in sorted(topics.items()):
        usable = [d for d in docs if len(minhash.words(d)) >= minhash.MIN_WORDS]
        for a, b in combinations(usable, 2):
            sa, sb = sig(a), sig(b)
            if sa is not None and sb is not None and a != b:
                negatives.append(minhash.similarity(sa, sb))
        for doc in usable:
            for level in positives:
                sa, sb = sig(doc), sig(edit(doc, level, rng, vocab))
                if sa is not None and sb is not None:
                    positives[level].append(minhash.similarity(sa, sb))
    return negatives, positives


def table(size: int, negatives: list[float], positives: dict[str, list[float]]) -> list[str]:
    """Markdown rows: threshold, precision, recall per edit level and overall."""
    rows = [
        f"Shingle size {size} words, {minhash.NUM_PERM} permutations; {len(negatives)} negative pairs, "
        + ", ".join(f"{len(v)} {k}" for k, v in positives.items())
        + " positive pairs.",
        "",
        "| threshold | precision | recall (all) | recall light | recall medium | recall heavy | false positives |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    neg = np.array(negatives)
    for t in THRESHOLDS:
        fp = int((neg >= t).sum())
        tp_levels = {k: int((np.array(v) >= t).sum()) for k, v in positives.items()}
        tp = sum(tp_levels.values())
        total = sum(len(v) for v in positives.values())
        precision = tp / (tp + fp) if tp + fp else 1.0
        rec = {k: tp_levels[k] / len(v) if v else 0.0 for k, v in positives.items()}
        rows.append(
            f"| {t:.2f} | {precision:.3f} | {tp / total:.3f} | {rec['light']:.3f} | {rec['medium']:.3f} | {rec['heavy']:.3f} | {fp} |"
        )
    pos_all = [s for v in positives.values() for s in v]
    rows += [
        "",
        f"Highest negative score {max(negatives):.3f} (99th percentile {np.percentile(neg, 99):.3f}); "
        f"lowest positive {min(pos_all):.3f}; lowest light/medium positive "
        f"{min(positives['light'] + positives['medium']):.3f}.",
        "",
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help=f"write the tables to {OUT}")
    parser.add_argument("--sizes", default="2,3,5", help="shingle sizes to compare")
    args = parser.parse_args()
    bench = benchmarks_dir(Settings.load())
    topics = squad_documents(bench / "squad-dev" / "dev-v1.1.reconstructed.json")
    topics.update(multihop_documents(bench / "multihop-rag-500" / "ground_truth.json"))
    lines = [
        "# Near-duplicate threshold (wire copies), chosen on data",
        "",
        "Made by `python -m measure.calibrate.dedup --write` (see its docstring for the data and edits).",
        f"In use: shingle size {minhash.SHINGLE}, {minhash.NUM_PERM} permutations, threshold {minhash.THRESHOLD}, bodies of at least {minhash.MIN_WORDS} words.",
        "",
        "Choice: every threshold from 0.15 up has precision 1.000 here (the highest same-topic negative, often",
        "another outlet's own story on the same event, scores 0.055 with 3-word shingles), so the threshold is",
        "set by recall and caution: 0.4 keeps recall at 0.97 overall (1.000 light, 0.994 medium, 0.920 heavy",
        "edits) and still needs two equal-length texts to share about 57% of their 3-word shingles, so a",
        "rewritten follow-up that reuses part of an earlier story is less likely to be folded into it (a",
        "judgement, not measured here: a wrong fold hides a story; a missed fold only costs a second",
        "citation). 3-word shingles separate",
        "better than 2 and keep more heavy-edit recall than 5.",
        "",
    ]
    for size in (int(s) for s in args.sizes.split(",")):
        negatives, positives = evaluate(size, topics)
        lines += table(size, negatives, positives)
    text = "\n".join(lines)
    print(text)
    if args.write:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
