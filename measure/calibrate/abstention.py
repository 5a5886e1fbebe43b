"""Fit the abstention model on several data sets the project did not write, and report how it transfers.

For every question of a set the engine's own :meth:`Composer.assess` gives the :class:`Evidence`
the abstention model judges, in three cases:

* ``answerable``: the question as asked (the corpus holds its answer) — declining it is a false decline;
* ``unanswerable``: the set's own unanswerable questions (SQuAD v2.0's adversarial ones, MultiHop's
  null queries, the project's off-topic ones) — answering them is wrong;
* ``leave-out``: an answerable question asked again with its gold article(s) hidden from retrieval,
  so the best remaining article is a related story that does not hold the answer — the situation
  of an off-topic or not-yet-covered question over a large news corpus.

The model is a class-balanced logistic regression, each set weighing the same; the threshold is
the highest one that keeps false declines at or under the target on every set. Sets are split
by a seeded hash into a fitting half and a reporting half, so reported numbers are not fitted on.

    python -m measure.calibrate.abstention [--sets questions,squad-v1,squad-v2,multihop] [--data FOLDER]

Needs the eval indexes that ``policybot eval SET --data DIR`` builds under DIR/eval-corpora/.
Prints the weights to paste into ``AnswerTuning`` and a per-set table (also written as JSON).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from index.ask import Evidence
from index.engine import Engine
from index.errors import PolicybotError
from index.settings import Settings
from measure.eval.dataset import Question, load_jsonl, select
from measure.eval.sets import multihop, squad

REPO = Path(__file__).resolve().parents[2]
KINDS = ("answerable", "unanswerable", "leave-out")


@dataclass
class Rows:
    """Evidence rows of one set: features, case kind, and whether the row is in the reporting half."""

    name: str
    x: np.ndarray
    kind: np.ndarray
    report: np.ndarray
    gold_rank: np.ndarray | None = None  # rank of the first gold article (0 = not in the top 30)
    off_story: np.ndarray | None = None  # Evidence.about_another_story: declined whatever the model says


def _in_report_half(qid: str) -> bool:
    return int(hashlib.sha1(qid.encode()).hexdigest(), 16) % 2 == 0


def load_set(name: str, data: Path, benchmarks: Path, sample: int) -> tuple[Engine, list[Question]]:
    root = data / "eval-corpora" / name
    today = None
    if name.startswith("questions@"):
        # The project's questions over another corpus, e.g. with thousands of unrelated news articles
        # mixed in (an index `policybot eval measure/data/questions.jsonl --corpus DIR --data D` built).
        root = Path(name.partition("@")[2]) / "eval-corpora" / "questions"
        questions = list(load_jsonl(REPO / "measure" / "data" / "questions.jsonl").questions)
        corpus = Path(name.partition("@")[2]).parent / "corpus"
    elif name == "questions":
        questions = list(load_jsonl(REPO / "measure" / "data" / "questions.jsonl").questions)
        corpus = REPO / "corpus"
    elif name.startswith("squad"):
        _, all_questions = squad.load_squad(benchmarks, name)
        questions, corpus = list(select(all_questions, sample=sample, seed=5)), root / "corpus"
    elif name == "multihop":
        _, questions = multihop.load_multihop(benchmarks)
        corpus, today = root / "corpus", multihop.TODAY
    else:
        raise SystemExit(f"unknown set {name}")
    settings = Settings(_env_file=None, data_dir=root / "index", corpus_dir=corpus, today=today)  # type: ignore[call-arg]
    engine = Engine(settings)
    engine.ensure_built()  # an index from an older format is rebuilt, not misread
    return engine, questions


def collect(name: str, engine: Engine, questions: list[Question]) -> Rows:
    snap = engine.snapshot()
    composer = engine.asker.composer(snap)
    rows, kinds, halves, gold_ranks, off = [], [], [], [], []
    for q in questions:
        try:
            query = engine.asker.query(q.question)
        except PolicybotError:
            continue
        ranked = engine.asker.rank(snap, query, limit=30)
        cases = [(ranked, "unanswerable" if q.unanswerable else "answerable")]
        if q.articles and not q.unanswerable:
            gold = set(q.articles)
            cases.append(([r for r in ranked if snap.articles[r.idx].id not in gold], "leave-out"))
        ids = [snap.articles[r.idx].id for r in ranked]
        rank = next((i + 1 for i, a in enumerate(ids) if a in set(q.articles)), 0)
        for case_ranked, kind in cases:
            if not case_ranked:
                continue
            _, evidence = composer.assess(query, case_ranked)
            rows.append(evidence.as_array())
            kinds.append(kind)
            halves.append(_in_report_half(q.id))
            gold_ranks.append(rank if kind == "answerable" else 0)
            off.append(evidence.about_another_story(len(query.terms)))
    return Rows(name, np.array(rows), np.array(kinds), np.array(halves), np.array(gold_ranks), np.array(off))


def fitting_rows(part: Rows) -> Rows:
    """The rows the model learns from: answerable questions whose gold article retrieval found in
    its top three (declining one whose answer retrieval missed is no loss, so those teach nothing
    either way), and negatives other than SQuAD v2.0's adversarial ones — those differ from their
    paragraph by a swapped word that no feature here can see; they are still reported."""
    keep = np.ones(len(part.kind), dtype=bool)
    if part.gold_rank is not None:
        missed = (part.kind == "answerable") & ((part.gold_rank == 0) | (part.gold_rank > 3))
        keep &= ~missed
    if part.name == "squad-v2":
        keep &= part.kind != "unanswerable"
    gold = part.gold_rank[keep] if part.gold_rank is not None else None
    off = part.off_story[keep] if part.off_story is not None else None
    return Rows(part.name, part.x[keep], part.kind[keep], part.report[keep], gold, off)


def fit(parts: list[Rows], l2: float = 0.01, steps: int = 6000) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Logistic regression on the fitting halves; each set and each class weighs the same.

    Features are standardised for the fit and the weights mapped back, so the result applies to
    raw Evidence values.
    """
    xs, ys, ws = [], [], []
    for part in parts:
        keep = ~part.report
        x, y = part.x[keep], (part.kind[keep] == "answerable").astype(float)
        if len(x) == 0:
            continue
        pos, neg = max(y.sum(), 1.0), max((1 - y).sum(), 1.0)
        xs.append(x)
        ys.append(y)
        ws.append(np.where(y == 1, 0.5 / pos, 0.5 / neg))
    x, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
    w = w / w.mean()
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    beta = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ beta)))
        grad = z.T @ ((p - y) * w) / len(y) + l2 * np.r_[beta[:-1], 0.0]
        beta -= 0.5 * grad
    weights = beta[:-1] / sd
    bias = float(beta[-1] - (mu / sd) @ beta[:-1])
    return weights, bias, mu, sd


def confidence(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(x @ weights + bias, -50, 50)))


def declines(part: Rows, weights: np.ndarray, bias: float, threshold: float) -> np.ndarray:
    """What the engine declines: a low confidence, or an answer from another story (a rule)."""
    low = confidence(part.x, weights, bias) < threshold
    return low | part.off_story if part.off_story is not None else low


def table(parts: list[Rows], weights: np.ndarray, bias: float, threshold: float, half: bool = True) -> dict[str, dict[str, float]]:
    """Per set: false declines of answerable questions, and declines of each negative kind."""
    out = {}
    for part in parts:
        keep = part.report if half else np.ones(len(part.x), dtype=bool)
        decline = declines(part, weights, bias, threshold)[keep]
        kind = part.kind[keep]
        row: dict[str, float] = {}
        for k in KINDS:
            mask = kind == k
            if mask.any():
                row[f"{k}_n"] = int(mask.sum())
                row[f"{k}_declined"] = round(float(decline[mask].mean()), 3)
        negatives = kind == "unanswerable"
        if negatives.any():
            tp = int((decline & negatives).sum())
            fp = int((decline & (kind == "answerable")).sum())
            fn = int((~decline & negatives).sum())
            precision = tp / max(tp + fp, 1)
            recall = tp / max(tp + fn, 1)
            row["abstention_f1"] = round(2 * precision * recall / max(precision + recall, 1e-9), 3)
        out[part.name] = row
    return out


def choose_threshold(parts: list[Rows], weights: np.ndarray, bias: float, max_false_declines: float) -> float:
    """The highest threshold whose false-decline rate stays within target on every set's fitting half."""
    best = 0.0
    for threshold in np.arange(0.05, 0.95, 0.01):
        ok = True
        for part in parts:
            keep = ~part.report & (part.kind == "answerable")
            if keep.any() and declines(part, weights, bias, float(threshold))[keep].mean() > max_false_declines:
                ok = False
        if ok:
            best = float(threshold)
    return round(best, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="questions,squad-v1,squad-v2,multihop")
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--benchmarks", type=Path, default=REPO.parent / "shared" / "benchmarks")
    parser.add_argument("--sample", type=int, default=1000, help="SQuAD questions per set (seed 5)")
    parser.add_argument(
        "--max-false-declines", type=float, default=0.03, help="on the fitting halves (0.03 leaves room under 5%%)"
    )
    parser.add_argument("--cache", type=Path, help="save/load the collected rows here (.npz)")
    parser.add_argument("--out", type=Path, help="write the per-set table as JSON")
    args = parser.parse_args(argv)
    parts = []
    for name in args.sets.split(","):
        cached = args.cache and (args.cache / f"{name.replace('/', '_')}.npz")
        if cached and cached.exists():
            npz = np.load(cached)
            parts.append(Rows(name, npz["x"], npz["kind"], npz["report"], npz["gold_rank"], npz["off_story"]))
            continue
        engine, questions = load_set(name, args.data, args.benchmarks, args.sample)
        print(f"{name}: collecting {len(questions)} questions ...", file=sys.stderr)
        part = collect(name, engine, questions)
        if cached:
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.savez(
                cached,
                x=part.x,
                kind=part.kind,
                report=part.report,
                gold_rank=np.asarray(part.gold_rank),
                off_story=np.asarray(part.off_story),
            )
        parts.append(part)
    learn = [fitting_rows(p) for p in parts]
    weights, bias, _, _ = fit(learn)
    threshold = choose_threshold(learn, weights, bias, args.max_false_declines)
    names = [f.name for f in fields(Evidence)]
    print("weights:", dict(zip(names, np.round(weights, 3).tolist(), strict=True)), f"bias {bias:.3f}")
    result = table(parts, weights, bias, threshold)
    print(f"threshold {threshold} (false declines <= {args.max_false_declines} on every fitting half)")
    for name, row in result.items():
        print(f"  {name:10} {row}")
    print(f"abstain_weights = ({', '.join(f'{w:.3f}' for w in weights)},)\nabstain_bias = {bias:.3f}\nabstain_threshold = {threshold}")
    if args.out:
        args.out.write_text(json.dumps({"weights": weights.tolist(), "bias": bias, "threshold": threshold, "sets": result}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
