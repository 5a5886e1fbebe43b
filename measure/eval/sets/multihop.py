"""MultiHop-RAG (500-query sample) as a small news benchmark.

The article corpus of MultiHop-RAG is not available here, only each query's evidence facts with
their article's title, source, url and date. So the corpus is rebuilt from those: one document per
distinct article (keyed by url), its distinct facts as the body. That makes documents short (one
to six sentences) and leaves out the distractor articles, so retrieval is easier than in the
original benchmark. A query's gold articles are its evidence articles; null queries
("Insufficient information.") should be abstained on.

Many gold answers are "Yes"/"No"/"Similar" judgements that an extractive engine cannot produce;
``kind`` separates them from entity answers so the report can show both honestly.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

from measure.eval.dataset import DatasetError, Question
from measure.eval.sets.common import Doc, read_json, slug

FOLDER = "multihop-rag-500"
JUDGEMENTS = frozenset(
    {"yes", "no", "true", "false", "before", "after", "similar", "different", "same"}
    | {"agree", "disagree", "consistent", "inconsistent"}
)
TODAY = date(2023, 12, 31)
"""The corpus ends 2023-12-24: "recent" and "this month" in questions refer to that time."""


def _doc_id(evidence: dict[str, Any]) -> str:
    digest = hashlib.sha1(evidence["url"].encode()).hexdigest()[:8]
    return f"{slug(evidence.get('source') or 'news', 20)}-{slug(evidence['title'], 50)}-{digest}"


def _kind(question_type: str, answer: str, null: bool) -> str:
    if null:
        return "null_query"
    label = "yes/no" if answer.strip(" .").casefold() in JUDGEMENTS else "entity"
    return f"{question_type} ({label})"


def parse_multihop(queries: Any, truth: Any) -> tuple[list[Doc], list[Question]]:
    """Documents (one per evidence article, facts in first-seen order) and the queries."""
    if not isinstance(queries, dict) or not isinstance(queries.get("queries"), list):
        raise DatasetError("not a MultiHop queries file: expected {'queries': [...]}")
    if not isinstance(truth, dict):
        raise DatasetError("not a MultiHop ground-truth file: expected {id: {answer, evidence_list}}")
    facts: dict[str, dict[str, None]] = {}
    meta: dict[str, dict[str, Any]] = {}
    questions: list[Question] = []
    for query in queries["queries"]:
        qid = str(query["id"])
        if qid not in truth:
            raise DatasetError(f"query {qid} has no ground truth")
        gold = truth[qid]
        evidence = gold.get("evidence_list") or []
        ids = []
        for item in evidence:
            meta.setdefault(item["url"], item)
            facts.setdefault(item["url"], {})[item["fact"].strip()] = None
            ids.append(_doc_id(meta[item["url"]]))
        qtype = str(query.get("question_type", ""))
        null = qtype == "null_query" or not evidence
        answer = str(gold.get("answer", "")).strip()
        questions.append(
            Question(
                id=qid,
                question=query["question"].strip(),
                expect=() if null else ((answer,),),
                unanswerable=null,
                articles=tuple(dict.fromkeys(ids)),
                kind=_kind(qtype, answer, null),
            )
        )
    docs = [
        Doc(
            id=_doc_id(item),
            title=item["title"],
            body=" ".join(facts[url]),
            source=item.get("source") or "unknown",
            url=url,
            published=date.fromisoformat(item["published_at"][:10]) if item.get("published_at") else None,
            authors=(item["author"],) if item.get("author") else (),
        )
        for url, item in meta.items()
    ]
    return docs, questions


def load_multihop(benchmarks_dir: Path) -> tuple[list[Doc], list[Question]]:
    folder = benchmarks_dir / FOLDER
    return parse_multihop(read_json(folder / "queries.json"), read_json(folder / "ground_truth.json"))
