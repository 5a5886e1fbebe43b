"""Set builders on tiny SQuAD- and MultiHop-shaped samples written here (no shared benchmarks needed)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from index.corpus._read import load_corpus
from measure.eval.dataset import DatasetError
from measure.eval.sets import multihop, squad
from measure.eval.sets.common import write_corpus
from tests.measure.samples import QUERIES, SQUAD, TRUTH


def test_squad_paragraph_documents_and_questions() -> None:
    docs, questions = squad.parse_squad(SQUAD)
    assert [d.id for d in docs] == [
        "computer-security-p001",
        "computer-security-p002",
        "sky-united-kingdom-p001",
    ]
    assert docs[1].title == "Computer security (paragraph 2)"
    assert docs[0].url == "https://en.wikipedia.org/wiki/Computer_security"
    s1, s2, s3 = questions
    # distinct answers become the alternatives of one group, in first-seen order
    assert s1.expect == (("the protection of computer systems", "protection of computer systems"),)
    assert s1.articles == ("computer-security-p001",) and not s1.unanswerable
    assert s2.articles == ("computer-security-p002",) and s2.expect == (("1988",),)
    assert s3.unanswerable and s3.expect == () and s3.articles == () and s3.kind == "unanswerable"


def test_squad_titles_keep_their_questions_and_the_whole_corpus() -> None:
    docs, questions = squad.parse_squad(SQUAD, frozenset({"Sky_(United_Kingdom)"}))
    assert len(docs) == 3 and questions == []  # every paragraph stays a distractor; Sky has no question
    _, questions = squad.parse_squad(SQUAD, frozenset({"Computer_security"}))
    assert [q.id for q in questions] == ["s1", "s2", "s3"]


def test_the_readers_split_keeps_test_and_calibration_titles_out_of_training() -> None:
    train, calibration, test = (squad.split_titles(part) for part in ("train", "calibration", "test"))
    assert not (train & calibration) and not (train & test) and not (calibration & test)
    assert len(train) <= 0.7 * len(train | calibration | test)
    with pytest.raises(DatasetError, match="no 'everything' titles"):
        squad.split_titles("everything")


def test_squad_rejects_malformed_input() -> None:
    with pytest.raises(DatasetError, match="not a SQuAD file"):
        squad.parse_squad({"questions": []})
    bad = {
        "data": [
            {
                "title": "T",
                "paragraphs": [{"context": "c", "qas": [{"id": "x", "question": "q?", "answers": []}]}],
            }
        ]
    }
    with pytest.raises(DatasetError, match="no answers"):
        squad.parse_squad(bad)


def test_load_squad_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"dev-v1\.1\.reconstructed\.json"):
        squad.load_squad(tmp_path, "squad-v1")


def test_multihop_groups_facts_by_article() -> None:
    docs, questions = multihop.parse_multihop(QUERIES, TRUTH)
    assert len(docs) == 2
    a, b = docs
    assert a.title == "Regulator fines company over breach" and a.source == "The Verge"
    assert a.published == date(2023, 10, 2) and a.authors == ("Ann Writer",)
    first, second = (
        "The agency fined the company $5 million for the breach.",
        "The company said it would appeal the fine.",
    )
    assert a.body == f"{first} {second}"
    assert b.authors == () and a.id != b.id
    q0, q1, q2 = questions
    assert q0.articles == (a.id, b.id) and q0.expect == (("Sam Bankman-Fried",),)
    assert q0.kind == "inference_query (entity)"
    assert q1.kind == "comparison_query (yes/no)"
    assert q2.unanswerable and q2.articles == () and q2.kind == "null_query"


def test_multihop_needs_ground_truth_for_every_query() -> None:
    with pytest.raises(DatasetError, match="query 2 has no ground truth"):
        multihop.parse_multihop(QUERIES, {k: v for k, v in TRUTH.items() if k != "2"})


def test_load_multihop_reads_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / multihop.FOLDER
    folder.mkdir()
    (folder / "queries.json").write_text(json.dumps(QUERIES))
    (folder / "ground_truth.json").write_text(json.dumps(TRUTH))
    docs, questions = multihop.load_multihop(tmp_path)
    assert len(docs) == 2 and len(questions) == 3


def test_written_corpus_is_read_back_by_the_engine_loader(tmp_path: Path) -> None:
    docs = squad.parse_squad(SQUAD)[0] + multihop.parse_multihop(QUERIES, TRUTH)[0]
    corpus = tmp_path / "corpus"
    assert write_corpus(docs, corpus) == len(docs)
    articles, errors = load_corpus(corpus)
    assert errors == []
    by_id = {a.id: a for a in articles}
    assert set(by_id) == {d.id for d in docs}
    sbf = by_id[docs[-1].id]
    assert sbf.title == "SBF verdict" and sbf.source == "TechCrunch" and sbf.published == date(2023, 11, 3)
    assert by_id["computer-security-p002"].text.startswith("The Morris worm of 1988")

    # A second write changes nothing (so the incremental build reuses everything) ...
    stamp = (corpus / "computer-security-p001.md").stat().st_mtime_ns
    assert write_corpus(docs, corpus) == 0
    assert (corpus / "computer-security-p001.md").stat().st_mtime_ns == stamp
    # ... and documents that left the set are removed.
    assert write_corpus(docs[:1], corpus) == 0
    assert sorted(p.name for p in corpus.iterdir()) == ["computer-security-p001.md"]
