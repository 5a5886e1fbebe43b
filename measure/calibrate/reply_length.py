"""Compare ways of cutting the reply's quote: ``python -m measure.calibrate.reply_length --data DIR``.

Each variant changes only how much the extractive answer quotes (the word budget, the number of
sentences); ranking, declines and the short answer stay. For each
set it prints the fact recall and the median reply length (words of the answer text, as
``policybot eval`` counts them), so the shortest variant that keeps fact recall can be chosen.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from measure.eval import runner
from measure.eval.cli import built_engine


@dataclass(frozen=True)
class Variant:
    name: str
    changes: dict[str, Any]


VARIANTS = (
    Variant("as shipped", {}),
    Variant("quote_words 60", {"quote_words": 60}),
    Variant("quote_words 45", {"quote_words": 45}),
    Variant("max_sentences 2", {"max_sentences": 2}),
    Variant("max_sentences 2, quote_words 60", {"max_sentences": 2, "quote_words": 60}),
    Variant("max_sentences 3, quote_words 60", {"max_sentences": 3, "quote_words": 60}),
)
"""The cut to the reader's sentence was measured with the version of this script that came with it
(docs/measurements/reader.md names the commit)."""


def measure(set_name: str, data: Path, sample: int | None, seed: int, titles: str, names: set[str]) -> list[str]:
    qset, engine = built_engine(set_name, data, sample=sample, seed=seed, titles=titles)
    shipped = engine.asker.answer_tuning
    lines = []
    for variant in VARIANTS:
        if names and variant.name not in names:
            continue
        engine.asker.answer_tuning = replace(shipped, **variant.changes)
        engine.asker._composer = None
        results = [runner.evaluate_question(engine, q, modes=()) for q in qset.questions]
        answers = runner._answers(results)
        declines = runner._abstention(results)["false_declines"]
        lines.append(
            f"| {set_name} | {variant.name} | {answers['fact_recall']:.3f} | {answers['answer_words_p50']:g} | {declines:.3f} |"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="data folder holding eval-corpora/")
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--variant", action="append", default=[], help="only these variants (by name)")
    parser.add_argument("sets", nargs="*", default=["measure/data/questions.jsonl", "squad-v1"])
    args = parser.parse_args()
    print("| set | variant | fact recall | median reply words | false declines |\n|---|---|---:|---:|---:|")
    for name in args.sets:
        squad = name.startswith("squad")
        measure(name, args.data, args.sample if squad else None, args.seed, "test" if squad else "all", set(args.variant))


if __name__ == "__main__":
    main()
