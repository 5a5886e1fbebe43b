"""Choose the ``/watch`` threshold on held-out data: MultiHop-RAG queries against news articles.

Run: ``python -m measure.calibrate.watch [--data DIR] [--json FILE]`` (real MiniLM; the
MultiHop index under ``<data>/eval-corpora/multihop`` is shared with ``policybot eval multihop``
and built incrementally, so a rerun only scores).

A watch is a saved question; after a poll each new article is scored against it with
:meth:`index.engine.Engine.match_new_articles` and a DM is sent above the threshold. The data were
written by others (MultiHop-RAG, 500-query sample): for every answerable query, its evidence
articles are the positives and every other article of the set is a negative, which is what a
poll looks like from one watch (almost every new article is about something else). The queries
are split in two halves with a fixed seed: the threshold is chosen on the first (highest F0.5,
since an unwanted DM costs more than a missed one) and reported on the second.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.engine import Engine
from index.errors import QuestionError
from index.settings import Settings
from measure.eval.cli import benchmarks_dir
from measure.eval.sets import multihop
from measure.eval.sets.common import write_corpus

THRESHOLDS = tuple(round(0.30 + 0.025 * i, 3) for i in range(19))  # 0.30 … 0.75
SEED = 9


@dataclass(frozen=True)
class Row:
    threshold: float
    precision: float
    recall: float
    f1: float
    f05: float
    false_alarms_per_100: float  # DMs per 100 unrelated new articles


def score_pairs(engine: Engine, questions: list[tuple[str, set[str]]], ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels of every (query, article) pair."""
    scores: list[float] = []
    labels: list[bool] = []
    for text, gold in questions:
        try:
            matched = engine.match_new_articles(text, ids)
        except QuestionError:  # a few MultiHop queries exceed the 500-character limit of a watch
            continue
        for article_id, score in matched:
            scores.append(score)
            labels.append(article_id in gold)
    return np.array(scores), np.array(labels, dtype=bool)


def table(scores: np.ndarray, labels: np.ndarray) -> list[Row]:
    rows = []
    positives, negatives = int(labels.sum()), int((~labels).sum())
    for t in THRESHOLDS:
        flagged = scores >= t
        tp = int((flagged & labels).sum())
        fp = int((flagged & ~labels).sum())
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / positives if positives else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        f05 = 1.25 * p * r / (0.25 * p + r) if p + r else 0.0
        rows.append(Row(t, p, r, f1, f05, 100 * fp / negatives if negatives else 0.0))
    return rows


def format_table(rows: list[Row], chosen: float | None = None) -> str:
    lines = ["| threshold | precision | recall | F1 | F0.5 | false DMs per 100 unrelated articles |", "|---|---|---|---|---|---|"]
    for r in rows:
        mark = " ←" if chosen is not None and abs(r.threshold - chosen) < 1e-9 else ""
        lines.append(
            f"| {r.threshold:.3f}{mark} | {r.precision:.3f} | {r.recall:.3f} | {r.f1:.3f} | {r.f05:.3f} "
            f"| {r.false_alarms_per_100:.2f} |"
        )
    return "\n".join(lines)


def calibrate(settings: Settings, log: object = print) -> dict[str, object]:
    docs, questions = multihop.load_multihop(benchmarks_dir(settings))
    root = settings.data_dir / "eval-corpora" / "multihop"
    write_corpus(docs, root / "corpus")
    engine = Engine(settings.with_(data_dir=root / "index", corpus_dir=root / "corpus", today=multihop.TODAY))
    engine.build()
    ids = [d.id for d in docs]
    answerable = [(q.question, set(q.articles)) for q in questions if not q.unanswerable and q.articles]
    random.Random(SEED).shuffle(answerable)
    half = len(answerable) // 2
    dev, test = answerable[:half], answerable[half:]
    dev_rows = table(*score_pairs(engine, dev, ids))
    chosen = max(dev_rows, key=lambda r: (r.f05, r.threshold)).threshold
    test_rows = table(*score_pairs(engine, test, ids))
    return {
        "articles": len(ids),
        "dev_queries": len(dev),
        "test_queries": len(test),
        "chosen": chosen,
        "dev": [r.__dict__ for r in dev_rows],
        "test": [r.__dict__ for r in test_rows],
        "test_table": format_table(test_rows, chosen),
        "dev_table": format_table(dev_rows, chosen),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="data folder (eval index under <data>/eval-corpora/multihop)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    settings = Settings.load(data_dir=args.data)
    result = calibrate(settings)
    print(f"{result['articles']} articles; threshold chosen on {result['dev_queries']} queries: {result['chosen']}")
    print("\nchoice half (dev):\n" + str(result["dev_table"]))
    print(f"\nheld-out half ({result['test_queries']} queries):\n" + str(result["test_table"]))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
