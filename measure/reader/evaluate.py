"""Held-out measurements of the reader on SQuAD dev titles it was not trained on.

    python -m measure.reader.evaluate --weights index/reader/weights --json reader-eval.json

Three questions, each answered on the test titles only (thresholds come from the calibration
titles): does the reader rank the passage that answers first (against MiniLM cosine and BM25), are
its spans right (SQuAD v1.1 EM/F1), and does it decline the questions it should (SQuAD v2.0
unanswerable questions and answer-removed passages) without declining answerable ones.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.models import READER_CONFIG, Reader, Reading, write_manifest
from measure.eval.metrics import exact_match, f1_score
from measure.reader.data import (
    Question,
    Squad,
    answer_removed_paragraph,
    default_benchmarks,
    gold_passages,
    load_squad,
    questions_in,
    read_split,
)
from measure.reader.retrieval import BM25, encode_cached, passage_text, top_k

FALSE_DECLINE_TARGET = 0.05
DECLINE_FEATURES = ("relevance", "answer_score", "sum")
CACHE = Path("/tmp/policybot-reader-cache")


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, file=sys.stderr, flush=True)


# --- reading a question's own paragraph ---------------------------------------------------------


@dataclass(frozen=True)
class ParagraphRead:
    """The reader over one question's paragraph windows (and, for an answerable question, over the
    same paragraph with the answer sentences taken out)."""

    question: Question
    texts: list[str]
    gold: frozenset[int]
    readings: list[Reading]
    removed: list[Reading]

    def best(self) -> tuple[str, Reading]:
        """The passage the reader trusts most (highest relevance) and its reading."""
        i = max(range(len(self.readings)), key=lambda k: self.readings[k].relevance)
        return self.texts[i], self.readings[i]

    def prediction(self) -> str:
        text, reading = self.best()
        return text[reading.span[0] : reading.span[1]] if reading.span else ""


def feature(readings: Sequence[Reading], name: str) -> float:
    """A question-level "has an answer" score from its passages' readings (higher = answer)."""
    if not readings:
        return float("-inf")
    top = max(readings, key=lambda r: r.relevance)
    if name == "relevance":
        return top.relevance
    if name == "answer_score":
        return top.answer_score
    return top.relevance + top.answer_score


def read_paragraphs(reader: Reader, squad: Squad, questions: Sequence[Question], removed: bool = True) -> list[ParagraphRead]:
    out = []
    for n, q in enumerate(questions):
        para = squad.paragraphs[(q.article, q.paragraph)]
        passages = [(p.title, p.text) for p in para.passages]
        readings = reader.read(q.question, passages)
        gone: list[Reading] = []
        if removed and not q.impossible:
            texts = answer_removed_paragraph(para, q)
            gone = reader.read(q.question, [(para.passages[0].title, t) for t in texts]) if texts else []
        gold = frozenset(gold_passages(para, q))
        out.append(ParagraphRead(q, [p.text for p in para.passages], gold, readings, gone))
        if (n + 1) % 500 == 0:
            log(f"read {n + 1}/{len(questions)} paragraphs")
    return out


def span_scores(reads: Sequence[ParagraphRead]) -> dict[str, float]:
    answerable = [r for r in reads if not r.question.impossible]
    em = [exact_match(r.prediction(), r.question.answers) for r in answerable]
    f1 = [f1_score(r.prediction(), r.question.answers) for r in answerable]
    gold_top = [float(max(range(len(r.readings)), key=lambda k: r.readings[k].relevance) in r.gold) for r in answerable]
    return {
        "questions": len(answerable),
        "em": round(100 * statistics.fmean(em), 1),
        "f1": round(100 * statistics.fmean(f1), 1),
        "top_passage_holds_answer": round(statistics.fmean(gold_top), 3),
    }


def threshold_for(values: Sequence[float], target: float = FALSE_DECLINE_TARGET) -> float:
    """The highest threshold that declines at most ``target`` of these answerable questions
    (decline when score < threshold)."""
    ordered = sorted(values)
    allowed = int(np.floor(target * len(ordered)))
    return float(ordered[allowed]) if ordered else 0.0


def decline_scores(reads: Sequence[ParagraphRead], name: str, threshold: float) -> dict[str, Any]:
    """No-answer precision/recall/F1 on v2.0 questions, false declines on every answerable
    question, and how many answer-removed paragraphs are declined."""
    v2 = [r for r in reads if r.question.in_v2]
    declined = [feature(r.readings, name) < threshold for r in v2]
    truth = [r.question.impossible for r in v2]
    tp = sum(d and t for d, t in zip(declined, truth, strict=True))
    precision = tp / max(1, sum(declined))
    recall = tp / max(1, sum(truth))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    answerable = [r for r in reads if not r.question.impossible]
    false_declines = [feature(r.readings, name) < threshold for r in answerable]
    removed = [feature(r.removed, name) < threshold for r in answerable if r.removed]
    # Every negative at once: unanswerable v2.0 questions and answer-removed paragraphs.
    neg = [d for d, t in zip(declined, truth, strict=True) if t] + removed
    pos_declined = sum(false_declines)
    all_p = sum(neg) / max(1, sum(neg) + pos_declined)
    all_r = sum(neg) / max(1, len(neg))
    all_f1 = 2 * all_p * all_r / (all_p + all_r) if all_p + all_r else 0.0
    best_f1, best_threshold = best_no_answer_f1([(feature(r.readings, name), r.question.impossible) for r in v2])
    v2_answerable = [not d for d, t in zip(declined, truth, strict=True) if not t]
    correct = [d == t for d, t in zip(declined, truth, strict=True)]
    return {
        "feature": name,
        "threshold": round(threshold, 4),
        "v2_questions": len(v2),
        "v2_unanswerable": sum(truth),
        "no_answer_precision": round(precision, 3),
        "no_answer_recall": round(recall, 3),
        "no_answer_f1": round(f1, 3),
        "v2_decision_accuracy": round(statistics.fmean(correct), 3) if correct else None,
        "v2_answerable_kept": round(statistics.fmean(v2_answerable), 3) if v2_answerable else None,
        "false_decline_rate": round(statistics.fmean(false_declines), 3) if false_declines else None,
        "answerable_questions": len(answerable),
        "answer_removed_paragraphs": len(removed),
        "answer_removed_declined": round(statistics.fmean(removed), 3) if removed else None,
        "all_negatives_f1": round(all_f1, 3),
        "no_answer_auc": round(auc([(feature(r.readings, name), r.question.impossible) for r in v2]), 3),
        "best_no_answer_f1_here": round(best_f1, 3),
        "best_threshold_here": round(best_threshold, 4),
    }


def auc(rows: Sequence[tuple[float, bool]]) -> float:
    """Probability that an unanswerable question scores below an answerable one (ties half)."""
    neg = sorted(score for score, impossible in rows if impossible)
    pos = [score for score, impossible in rows if not impossible]
    if not neg or not pos:
        return float("nan")
    arr = np.array(neg)
    wins = sum(float(np.searchsorted(arr, p, "left")) + 0.5 * float(np.searchsorted(arr, p, "right") - np.searchsorted(arr, p, "left")) for p in pos)
    return wins / (len(neg) * len(pos))


def best_no_answer_f1(rows: Sequence[tuple[float, bool]]) -> tuple[float, float]:
    """The best no-answer F1 over all thresholds on these rows (SQuAD 2.0's "best F1" view, no
    false-decline limit) and its threshold."""
    total = sum(1 for _, impossible in rows if impossible)
    best = (0.0, float("-inf"))
    ordered = sorted(rows)
    tp = fp = 0
    for i, (score, impossible) in enumerate(ordered):
        tp += impossible
        fp += not impossible
        if i + 1 < len(ordered) and ordered[i + 1][0] == score:
            continue
        if tp:
            p, r = tp / (tp + fp), tp / max(1, total)
            f1 = 2 * p * r / (p + r)
            if f1 > best[0]:
                nxt = ordered[i + 1][0] if i + 1 < len(ordered) else score + 1
                best = (f1, (score + nxt) / 2)
    return best


def calibrate(reads: Sequence[ParagraphRead]) -> dict[str, Any]:
    """Thresholds at <= 5 % false declines on answerable calibration questions, per feature; the
    feature with the best no-answer F1 over unanswerable and answer-removed negatives is chosen."""
    answerable = [r for r in reads if not r.question.impossible]
    results = {}
    for name in DECLINE_FEATURES:
        threshold = threshold_for([feature(r.readings, name) for r in answerable])
        results[name] = decline_scores(reads, name, threshold)
    chosen = max(DECLINE_FEATURES, key=lambda n: results[n]["all_negatives_f1"])
    return {"chosen": chosen, "features": results}


# --- ranking ------------------------------------------------------------------------------------


@dataclass
class Retrieval:
    """BM25 and MiniLM scores of questions against every SQuAD passage."""

    passages: list[Any]
    bm25: np.ndarray
    dense: np.ndarray


def retrieval_for(squad: Squad, questions: Sequence[Question]) -> Retrieval:
    passages = squad.passages
    texts = [passage_text(p) for p in passages]
    bm25 = BM25(texts).scores([q.question for q in questions])
    p_vec = encode_cached(texts, CACHE, "all-passages")
    q_vec = encode_cached([q.question for q in questions], CACHE, "eval-questions")
    return Retrieval(passages, bm25, q_vec @ p_vec.T)


def fused(bm25: np.ndarray, dense: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    score: dict[int, float] = {}
    for scores in (bm25, dense):
        for rank, i in enumerate(top_k(scores, k, allowed)):
            score[i] = score.get(i, 0.0) + 1.0 / (10 + rank)
    return sorted(score, key=lambda i: (-score[i], i))[:k]


def rank_of(scores: Sequence[float], gold: set[int]) -> int:
    """1-based rank of the best-placed gold candidate (ties count against it)."""
    best = max(scores[i] for i in gold)
    return 1 + sum(1 for j, s in enumerate(scores) if j not in gold and s >= best)


def ranking(reader: Reader, squad: Squad, questions: Sequence[Question], negatives: int = 20, rerank_k: int = 10) -> dict[str, Any]:
    """P@1 / MRR of the gold passage among the question's article windows plus ``negatives`` hard
    windows of other articles, for MiniLM cosine, BM25, the reader, and the reader re-ranking
    MiniLM's top ``rerank_k`` (how the engine will use it)."""
    ret = retrieval_for(squad, questions)
    article = np.array([p.article for p in ret.passages])
    ranks: dict[str, list[int]] = {"minilm_cosine": [], "bm25": [], "reader": [], f"reader_on_minilm_top{rerank_k}": []}
    candidates_count = []
    started = time.perf_counter()
    for row, q in enumerate(questions):
        own = np.flatnonzero(article == q.article).tolist()
        others = fused(ret.bm25[row], ret.dense[row], article != q.article, negatives)
        cands = own + others
        para = squad.paragraphs[(q.article, q.paragraph)]
        gold_keys = {para.passages[o].key for o in gold_passages(para, q)}
        gold = {k for k, i in enumerate(cands) if ret.passages[i].key in gold_keys}
        dense = [float(ret.dense[row, i]) for i in cands]
        bm25 = [float(ret.bm25[row, i]) for i in cands]
        readings = reader.read(q.question, [(ret.passages[i].title, ret.passages[i].text) for i in cands])
        rel = [r.relevance for r in readings]
        ranks["minilm_cosine"].append(rank_of(dense, gold))
        ranks["bm25"].append(rank_of(bm25, gold))
        ranks["reader"].append(rank_of(rel, gold))
        top = sorted(range(len(cands)), key=lambda k: -dense[k])[:rerank_k]
        rerank = [rel[k] + 1e6 if k in top else dense[k] for k in range(len(cands))]
        ranks[f"reader_on_minilm_top{rerank_k}"].append(rank_of(rerank, gold))
        candidates_count.append(len(cands))
        if (row + 1) % 100 == 0:
            log(f"ranked {row + 1}/{len(questions)} ({(time.perf_counter() - started) / (row + 1):.2f} s a question)")
    table = {
        name: {"p@1": round(statistics.fmean(r == 1 for r in rs), 3), "mrr": round(statistics.fmean(1 / r for r in rs), 3)}
        for name, rs in ranks.items()
    }
    return {"questions": len(questions), "mean_candidates": round(statistics.fmean(candidates_count), 1), "methods": table}


# --- MultiHop-RAG news (never trained on) -----------------------------------------------------


# --- whole runs ---------------------------------------------------------------------------------


def sample(questions: Sequence[Question], n: int, seed: int) -> list[Question]:
    if n <= 0 or n >= len(questions):
        return list(questions)
    return sorted(random.Random(seed).sample(list(questions), n), key=lambda q: q.id)


def calibrate_run(out: Path, benchmarks: Path, epochs: int, threads: int) -> dict[int, Any]:
    """Calibrate every epoch's weights on the calibration titles, keep the best epoch, write its
    thresholds into ``reader.json`` and copy it to ``OUT/final`` (with a fresh manifest)."""
    squad = load_squad(benchmarks)
    split = read_split()
    questions = sorted(questions_in(squad, split["calibration"]), key=lambda q: q.id)
    results: dict[int, Any] = {}
    for epoch in range(1, epochs + 1):
        folder = out / f"epoch-{epoch}"
        reader = Reader(folder, threads=threads, precision="bfloat16")
        reads = read_paragraphs(reader, squad, questions)
        spans = span_scores(reads)
        cal = calibrate(reads)
        chosen = cal["features"][cal["chosen"]]
        results[epoch] = {"spans": spans, "calibration": cal, "score": spans["f1"] / 100 + chosen["no_answer_f1"]}
        log(f"calibration epoch {epoch}: F1 {spans['f1']} EM {spans['em']} no-answer F1 {chosen['no_answer_f1']} "
            f"({cal['chosen']}, threshold {chosen['threshold']})")
    best = max(results, key=lambda e: results[e]["score"])
    final = out / "final"
    if final.exists():
        shutil.rmtree(final)
    shutil.copytree(out / f"epoch-{best}", final)
    config = json.loads((final / READER_CONFIG).read_text())
    features = results[best]["calibration"]["features"]
    config["no_answer_threshold"] = features["answer_score"]["threshold"]
    config["relevance_threshold"] = features["relevance"]["threshold"]
    config["decline_feature"] = results[best]["calibration"]["chosen"]
    config["decline_threshold"] = features[config["decline_feature"]]["threshold"]
    config["epoch"] = best
    (final / READER_CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    write_manifest(final)
    (out / "calibration.json").write_text(json.dumps({"best_epoch": best, "epochs": results}, indent=2) + "\n")
    log(f"final = epoch {best}: {final}")
    return results


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    squad = load_squad(args.benchmarks)
    split = read_split()
    reader = Reader(args.weights, threads=args.threads, precision=args.precision)
    config = json.loads((args.weights / READER_CONFIG).read_text())
    report: dict[str, Any] = {"weights": str(args.weights), "precision": reader.precision, "split": split}
    test = sorted(questions_in(squad, split["test"]), key=lambda q: q.id)
    started = time.perf_counter()
    if "spans" in args.parts or "decline" in args.parts:
        reads = read_paragraphs(reader, squad, test)
        report["spans_v1"] = span_scores([r for r in reads if not r.question.impossible])
        report["spans_v1"]["published_bidaf_dev"] = {"em": 67.7, "f1": 77.3}
        report["decline"] = {
            name: decline_scores(reads, name, float(config.get(key, 0.0)))
            for name, key in (("relevance", "relevance_threshold"), ("answer_score", "no_answer_threshold"))
        }
        if "decline_feature" in config:
            report["decline"]["chosen"] = decline_scores(reads, config["decline_feature"], float(config["decline_threshold"]))
        log(f"spans and declines in {time.perf_counter() - started:.0f} s")
    if "ranking" in args.parts:
        answerable = [q for q in test if not q.impossible]
        chosen = sample(answerable, args.ranking_questions, args.seed)
        report["ranking"] = ranking(reader, squad, chosen)
    report["seconds"] = round(time.perf_counter() - started)
    return report


def print_report(report: dict[str, Any]) -> None:
    if "ranking" in report:
        r = report["ranking"]
        print(f"\nPassage ranking, {r['questions']} test questions, {r['mean_candidates']} candidates each")
        print(f"{'method':28} {'P@1':>6} {'MRR':>6}")
        for name, m in r["methods"].items():
            print(f"{name:28} {m['p@1']:6.3f} {m['mrr']:6.3f}")
    if "spans_v1" in report:
        s = report["spans_v1"]
        print(f"\nSpans on the gold paragraph's windows, {s['questions']} answerable test questions")
        print(f"reader EM {s['em']} F1 {s['f1']} (published BiDAF dev EM 67.7 F1 77.3); "
              f"top passage holds the answer {s['top_passage_holds_answer']}")
    if "decline" in report:
        print("\nDeclining (thresholds from the calibration titles)")
        print(f"{'feature':14} {'thr':>7} {'NA-P':>6} {'NA-R':>6} {'NA-F1':>6} {'false decl':>10} {'removed decl':>12}")
        for name, d in report["decline"].items():
            print(f"{name:14} {d['threshold']:7.3f} {d['no_answer_precision']:6.3f} {d['no_answer_recall']:6.3f} "
                  f"{d['no_answer_f1']:6.3f} {d['false_decline_rate']:10.3f} {d['answer_removed_declined'] or 0:12.3f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=Path(__file__).resolve().parents[2] / "index" / "models" / "reader_weights")
    parser.add_argument("--benchmarks", type=Path, default=default_benchmarks())
    parser.add_argument("--precision", default=None, choices=("float32", "bfloat16"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parts", default="spans,decline,ranking")
    parser.add_argument("--ranking-questions", type=int, default=600)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    args.parts = set(args.parts.split(","))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    report = evaluate(args)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
