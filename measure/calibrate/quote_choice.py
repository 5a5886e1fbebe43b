"""Which of the quoted sentences carry the expected facts: ``python -m measure.calibrate.quote_choice --data DIR``.

For every answered question it takes the sentences the answer quotes today and asks which rule
for keeping fewer of them would still hold the facts: by the composer's score, by the reader's
sentence (the short answer's), by the reader reading each sentence alone, by the question's words.
Recall here is over the quoted sentences (the lead only repeats their words); words are theirs.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from index.errors import QuestionError
from index.terms import stem, tokens
from measure.eval import metrics
from measure.eval.cli import built_engine

Row = dict[str, Any]
Rule = Callable[[list[Row]], list[Row]]


def rows_for(set_name: str, data: Path, sample: int | None, titles: str) -> list[tuple[Any, list[Row]]]:
    """Per answered question with expectations: its expectations and one row per quoted sentence."""
    qset, engine = built_engine(set_name, data, sample=sample, seed=1, titles=titles)
    asker, snap = engine.asker, engine.snapshot()
    reader = engine.models.reader
    out = []
    for q in qset.questions:
        if not q.expect or q.unanswerable:
            continue
        try:
            query = asker.query(q.question, asked_on=q.asked_on)
        except QuestionError:
            continue
        composer = asker.composer(snap)
        sentences = composer.sentences(query)
        ranked = asker.rank(snap, query, limit=max(5, asker.answer_tuning.candidate_articles))
        if not ranked:
            continue
        scored, evidence = composer.assess(query, ranked, sentences)
        if composer.confidence(evidence) < composer.tuning.abstain_threshold or evidence.about_another_story(len(query.terms)):
            continue
        groups = composer.select(scored)
        mine, _ = asker._short_answer(snap, query)(groups, [])
        flat = [(a, s) for a, ss in groups for s in ss]
        texts = [snap.sentence_text[s.sid] for _, s in flat]
        held = next((i for i, t in enumerate(texts) if mine.words and mine.words in t), None)
        alone = reader.read(q.question, [(snap.articles[a].citation.title, t) for (a, _), t in zip(flat, texts, strict=True)]) if reader else []
        wanted = {stem(t) for t in query.terms}
        total = sum(composer.lexicon.idf(t) for t in wanted) or 1.0
        rows: list[Row] = []
        for i, ((_, s), text) in enumerate(zip(flat, texts, strict=True)):
            found = {stem(t) for t in tokens(text)} & wanted
            rows.append(
                {
                    "score": s.score,
                    "held": i == held,
                    "answer_score": alone[i].answer_score if alone else 0.0,
                    "coverage": sum(composer.lexicon.idf(t) for t in found) / total,
                    "words": len(text.split()),
                    "facts": {g for g, group in enumerate(q.expect) if any(metrics.contains(text, p) for p in group)},
                }
            )
        out.append((q.expect, rows))
    return out


def best(rows: list[Row]) -> Row:
    return max(rows, key=lambda r: r["score"])


RULES: dict[str, Rule] = {
    "all quoted (today)": lambda rows: rows,
    "best by score": lambda rows: [best(rows)],
    "best by score + the short answer's sentence": lambda rows: [r for r in rows if r["held"] or r is best(rows)],
    "top 2 by score": lambda rows: sorted(rows, key=lambda r: -r["score"])[:2],
    "top 3 by score": lambda rows: sorted(rows, key=lambda r: -r["score"])[:3],
    "within 0.2 of the best score + the short answer's sentence": lambda rows: [
        r for r in rows if r["held"] or r["score"] >= best(rows)["score"] - 0.2
    ],
    "best by score + question-word coverage >= 0.3": lambda rows: [r for r in rows if r is best(rows) or r["coverage"] >= 0.3],
    "top 2 by the reader's answer score per sentence": lambda rows: sorted(rows, key=lambda r: -r["answer_score"])[:2],
    "top 3 by the reader's answer score per sentence": lambda rows: sorted(rows, key=lambda r: -r["answer_score"])[:3],
    "oracle (only the sentences holding a fact)": lambda rows: [r for r in rows if r["facts"]] or rows[:1],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="data folder holding eval-corpora/")
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    sets = {
        "project": rows_for("measure/data/questions.jsonl", args.data, None, "all"),
        "SQuAD v1.1 test titles": rows_for("squad-v1", args.data, args.sample, "test"),
    }
    print("| rule | " + " | ".join(f"{n}: fact recall / median words" for n in sets) + " |")
    print("|---|" + "---:|" * len(sets))
    for name, rule in RULES.items():
        cells = []
        for records in sets.values():
            kept = [(expect, rule(rows)) for expect, rows in records]
            recall = sum(len({f for r in k for f in r["facts"]}) / len(e) for e, k in kept) / len(kept)
            words = statistics.median(sum(r["words"] for r in k) for _, k in kept)
            cells.append(f"{recall:.3f} / {words:g}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
