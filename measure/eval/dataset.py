"""Question sets: the JSONL format of ``measure/data/questions.jsonl`` and the ways to cut a set down.

One line per question::

    {"id": "q1", "question": "...", "expect": [["CISA", "Cybersecurity and Infrastructure"], ["2023"]]}
    {"id": "q2", "question": "...", "unanswerable": true}

Every ``expect`` group must appear in the answer (case-insensitive); any alternative of a group
counts. ``article`` (a file name, or a list of them) names where the answer is, for retrieval
metrics; the article id is the file name without its suffix, as in the engine.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from index.errors import PolicybotError


class DatasetError(PolicybotError):
    """A question set is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class Question:
    """One evaluation question with its gold data."""

    id: str
    question: str
    expect: tuple[tuple[str, ...], ...] = ()
    unanswerable: bool = False
    articles: tuple[str, ...] = ()  # gold article ids (any of them counts as a hit)
    kind: str = ""  # a free label for breakdowns (e.g. MultiHop's question_type)
    asked_on: date | None = None  # the day the question was asked ("date" in JSONL): "last week" is relative to it


@dataclass(frozen=True)
class QuestionSet:
    """Questions plus where their corpus lives (``None`` = the project's own corpus)."""

    name: str
    questions: tuple[Question, ...]
    corpus_dir: Path | None = None
    notes: tuple[str, ...] = field(default=())


def article_id(name: str) -> str:
    """The engine's article id for a file name: its base name without the suffix."""
    base = Path(name).name
    return base.rsplit(".", 1)[0] if "." in base else base


def _parse_groups(raw: Any, where: str) -> tuple[tuple[str, ...], ...]:
    if not isinstance(raw, list) or not raw:
        raise DatasetError(f"{where}: 'expect' must be a non-empty list of groups")
    groups: list[tuple[str, ...]] = []
    for group in raw:
        alts = [group] if isinstance(group, str) else group
        if not isinstance(alts, list) or not alts or not all(isinstance(a, str) and a.strip() for a in alts):
            raise DatasetError(f"{where}: each 'expect' group must be a non-empty list of non-empty strings")
        groups.append(tuple(a.strip() for a in alts))
    return tuple(groups)


def parse_question(obj: Any, where: str) -> Question:
    """Validate one decoded JSONL record; ``where`` (file:line) prefixes every error."""
    if not isinstance(obj, dict):
        raise DatasetError(f"{where}: expected a JSON object")
    qid, text = obj.get("id"), obj.get("question")
    if not isinstance(qid, str | int) or str(qid) == "":
        raise DatasetError(f"{where}: missing 'id'")
    if not isinstance(text, str) or not text.strip():
        raise DatasetError(f"{where}: missing 'question'")
    unanswerable = obj.get("unanswerable", False)
    if not isinstance(unanswerable, bool):
        raise DatasetError(f"{where}: 'unanswerable' must be true or false")
    if unanswerable and obj.get("expect"):
        raise DatasetError(f"{where}: a question cannot be both 'unanswerable' and have 'expect'")
    if not unanswerable and "expect" not in obj:
        raise DatasetError(f"{where}: needs 'expect' (a list of groups) or \"unanswerable\": true")
    expect = () if unanswerable else _parse_groups(obj["expect"], where)
    raw_articles = obj.get("article", obj.get("articles", []))
    names = [raw_articles] if isinstance(raw_articles, str) else raw_articles
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise DatasetError(f"{where}: 'article' must be a file name or a list of file names")
    raw_date = obj.get("date")
    try:
        asked_on = date.fromisoformat(str(raw_date)[:10]) if raw_date else None
    except ValueError:
        raise DatasetError(f"{where}: 'date' must be YYYY-MM-DD") from None
    return Question(
        asked_on=asked_on,
        id=str(qid),
        question=text.strip(),
        expect=expect,
        unanswerable=unanswerable,
        articles=tuple(article_id(n) for n in names),
        kind=str(obj.get("kind", "")),
    )


def load_jsonl(path: Path) -> QuestionSet:
    """Read a JSONL question set; blank lines and ``#`` comments are skipped, ids must be unique."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"Cannot read the question set {path}: {exc.strerror or exc}") from exc
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not valid JSON ({exc.msg})") from exc
        question = parse_question(obj, where)
        if question.id in seen:
            raise DatasetError(f"{where}: duplicate id {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise DatasetError(f"{path}: no questions")
    return QuestionSet(name=path.stem, questions=tuple(questions))


def select(
    questions: Sequence[Question], *, limit: int | None = None, sample: int | None = None, seed: int = 0
) -> tuple[Question, ...]:
    """A seeded random sample (kept in the set's order, so reports are stable), then the first ``limit``."""
    chosen = list(questions)
    if sample is not None and sample < len(chosen):
        keep = set(random.Random(seed).sample(range(len(chosen)), sample))
        chosen = [q for i, q in enumerate(chosen) if i in keep]
    if limit is not None:
        chosen = chosen[:limit]
    return tuple(chosen)
