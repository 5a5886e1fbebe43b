"""SQuAD v1.1 / v2.0 dev as a retrieval-and-answer benchmark.

Every paragraph becomes one corpus document (``<article>-p<NNN>``), so retrieval is measured at
paragraph level: the gold document of a question is the paragraph it was written on. An answer
counts as correct when any of the crowd answers occurs in the reply (one expect group whose
alternatives are the distinct answer texts). v2.0's unanswerable questions test abstention.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from measure.eval.dataset import DatasetError, Question
from measure.eval.sets.common import Doc, read_json, slug

FILES = {
    "squad-v1": "squad-dev/dev-v1.1.reconstructed.json",
    "squad-v2": "squad-dev/dev-v2.0.reconstructed.json",
}


def paragraph_id(title: str, number: int) -> str:
    return f"{slug(title)}-p{number:03d}"


def parse_squad(data: Any, titles: frozenset[str] | None = None) -> tuple[list[Doc], list[Question]]:
    """Documents (one per paragraph, all of them) and questions, in the file's order; ``titles``
    keeps only the questions of those articles (the corpus stays whole)."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DatasetError("not a SQuAD file: expected {'data': [articles]}")
    docs: list[Doc] = []
    questions: list[Question] = []
    version = str(data.get("version", ""))
    for article in data["data"]:
        raw_title = str(article["title"])
        title = raw_title.replace("_", " ")
        for number, paragraph in enumerate(article["paragraphs"], start=1):
            doc_id = paragraph_id(raw_title, number)
            docs.append(
                Doc(
                    id=doc_id,
                    title=f"{title} (paragraph {number})",
                    body=paragraph["context"],
                    source=f"Wikipedia via SQuAD {version}".strip(),
                    url=f"https://en.wikipedia.org/wiki/{raw_title}",
                )
            )
            for qa in paragraph["qas"] if titles is None or raw_title in titles else ():
                impossible = bool(qa.get("is_impossible", False))
                answers = tuple(dict.fromkeys(a["text"].strip() for a in qa.get("answers", []) if a["text"].strip()))
                if not impossible and not answers:
                    raise DatasetError(f"question {qa['id']} has no answers and is not marked impossible")
                questions.append(
                    Question(
                        id=str(qa["id"]),
                        question=qa["question"].strip(),
                        expect=() if impossible else (answers,),
                        unanswerable=impossible,
                        articles=() if impossible else (doc_id,),
                        kind="unanswerable" if impossible else "answerable",
                    )
                )
    return docs, questions


def load_squad(benchmarks_dir: Path, name: str, titles: frozenset[str] | None = None) -> tuple[list[Doc], list[Question]]:
    """Read ``squad-v1`` or ``squad-v2`` from the shared benchmarks folder (``titles``: see :func:`parse_squad`)."""
    return parse_squad(read_json(benchmarks_dir / FILES[name]), titles)


SPLIT = Path(__file__).resolve().parents[2] / "reader" / "split.json"
"""The reader's training split by article title (measure/reader/split.json): train, calibration, test."""


def split_titles(part: str) -> frozenset[str]:
    """The titles of one part of the reader's split (``train``, ``calibration`` or ``test``)."""
    split = read_json(SPLIT)
    if part not in split or not isinstance(split[part], list):
        raise DatasetError(f"the reader's split has no {part!r} titles")
    return frozenset(str(t) for t in split[part])
