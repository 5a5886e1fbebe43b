"""Choose the ask path's story margin (``AnswerTuning.story_margin``) on questions nobody here wrote.

``python -m measure.calibrate.stories --data DIR [SET ...]`` asks each set's questions with every
other story offered (no margin), as the engine ships otherwise (the reader's relevance gate
included), and records for each answered question how far the best other story's sentence scores
below the answer's. A margin fires on a question when that gap is at most the margin. SQuAD and
MultiHop-RAG questions each point at one passage or story, so firing there is the cost; a few
underspecified news questions over the MultiHop corpus show that the margin still fires when the
question could mean several stories. The answer itself never depends on the margin.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

from measure.eval.cli import built_engine

MARGINS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5)
UNDERSPECIFIED = (
    "Who attended the meeting?",
    "What did the company announce?",
    "How much was the fine?",
    "Who was arrested?",
    "What did the lawsuit claim?",
    "Which company was acquired?",
    "What did the CEO say?",
    "How much did the deal cost?",
)
"""Questions that could mean many stories of a news corpus (written here: the positive side only)."""


def gaps(set_name: str, data: Path, sample: int | None, seed: int, titles: str, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """One record per question: answered?, the gap to the best other story (None: none offered)."""
    qset, engine = built_engine(set_name, data, sample=sample, seed=seed, titles=titles)
    engine.asker.answer_tuning = replace(engine.asker.answer_tuning, story_margin=math.inf)
    asked = [(q.question, q.asked_on) for q in qset.questions] + [(text, None) for text in extra]
    out = []
    for n, (text, asked_on) in enumerate(asked):
        answer = engine.ask(text, asked_on=asked_on)
        best = answer.sources[0].score if answer.sources else 0.0
        alt = [best - a.sources[0].score for a in answer.alternatives if a.sources]
        out.append(
            {
                "question": text,
                "written_here": n >= len(qset.questions),
                "answered": answer.answerable,
                "gap": min(alt) if alt else None,
            }
        )
    return out


def table(records: dict[str, list[dict[str, Any]]]) -> list[str]:
    names = list(records)
    lines = [
        "| margin | " + " | ".join(f"{name}: answers with other stories" for name in names) + " |",
        "|---:|" + "---:|" * len(names),
    ]
    for margin in MARGINS:
        cells = []
        for name in names:
            answered = [r for r in records[name] if r["answered"]]
            fired = sum(r["gap"] is not None and r["gap"] <= margin for r in answered)
            cells.append(f"{fired}/{len(answered)} ({fired / len(answered):.3f})" if answered else "–")
        lines.append(f"| {margin:g} | " + " | ".join(cells) + " |")
    for name in names:
        found = [r["gap"] for r in records[name] if r["answered"] and r["gap"] is not None]
        if found:
            lines.append(f"\n{name}: median gap {statistics.median(found):.3f} over {len(found)} answers with another story")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="data folder holding eval-corpora/")
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="write the per-question records here (JSON)")
    parser.add_argument("sets", nargs="*", default=["squad-v1", "multihop"])
    args = parser.parse_args()
    records: dict[str, list[dict[str, Any]]] = {}
    for name in args.sets:
        titles = "test" if name.startswith("squad") else "all"
        found = gaps(name, args.data, args.sample, args.seed, titles, UNDERSPECIFIED if name == "multihop" else ())
        records[name] = [r for r in found if not r["written_here"]]
        if name == "multihop":
            records["underspecified (MultiHop corpus)"] = [r for r in found if r["written_here"]]
    if args.out:
        args.out.write_text(json.dumps(records, indent=1), encoding="utf-8")
    print("\n".join(table(records)))


if __name__ == "__main__":
    main()
