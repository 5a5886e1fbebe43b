"""The evaluation summary of ``docs/quality.md``, made from the committed ``report.json`` files.

The page quotes this table verbatim and a test regenerates it, so the published numbers cannot
drift from the runs they came from. ``python -m measure.eval.summary_table [DIR]`` prints it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RUNS = REPO / "docs" / "measurements" / "eval"
ORDER = ("project", "squad-v1", "squad-v2", "multihop")
NAMES = {
    "project": "project questions",
    "squad-v1": "SQuAD v1.1 dev, 1,000 sampled",
    "squad-v2": "SQuAD v2.0 dev, 1,000 sampled",
    "multihop": "MultiHop-RAG 500",
}
HEADER = (
    "| set | questions (with gold) | hybrid H@1 / H@5 / H@10 / MRR | BM25 only H@1 / MRR | dense only H@1 / MRR "
    "| fact recall | false declines | abstention P / R / F1 |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- |"
)


def _n(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def _row(name: str, report: dict[str, Any]) -> str:
    retrieval, answers, abstention = report["retrieval"], report["answers"], report["abstention"]
    hybrid, bm25, dense = retrieval["hybrid"], retrieval["bm25"], retrieval["dense"]
    ranks = " / ".join(_n(hybrid[k]) for k in ("hits@1", "hits@5", "hits@10", "mrr@10"))
    declines = f"{100 * abstention['false_declines']:.1f} %"
    judged = abstention["unanswerable"] > 0
    abstain = " / ".join(_n(abstention[k]) if judged else "–" for k in ("precision", "recall", "f1"))
    return (
        f"| {NAMES.get(name, name)} | {report['questions']} ({retrieval['n']}) | {ranks} "
        f"| {_n(bm25['hits@1'])} / {_n(bm25['mrr@10'])} | {_n(dense['hits@1'])} / {_n(dense['mrr@10'])} "
        f"| {_n(answers['fact_recall'])} | {declines} | {abstain} |"
    )


def table(folder: Path = RUNS) -> str:
    """One row per committed run, in a fixed order, the others after them by name."""
    found = {p.stem: p for p in folder.glob("*.json")}
    names = [n for n in ORDER if n in found] + sorted(set(found) - set(ORDER))
    rows = [_row(n, json.loads(found[n].read_text(encoding="utf-8"))) for n in names]
    return "\n".join([HEADER, *rows])


if __name__ == "__main__":
    print(table(Path(sys.argv[1]) if len(sys.argv) > 1 else RUNS))
