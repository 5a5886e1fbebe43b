"""The JSONL question format: what it accepts, and errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from measure.eval.dataset import DatasetError, Question, load_jsonl, select


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_parses_expect_groups_unanswerable_and_article(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{"id": "q1", "question": " Who leads CISA? ",'
        ' "expect": [["Easterly", "Jen Easterly"], ["director"]], "article": "cisa-director.md"}',
        "",
        "# a comment line",
        '{"id": 2, "question": "What did Mars say?", "unanswerable": true}',
        '{"id": "q3", "question": "Where?", "expect": ["Paris", ["Lyon", "Lille"]], "articles": ["a.md", "b"]}',
    )
    qset = load_jsonl(path)
    assert qset.name == "questions"
    q1, q2, q3 = qset.questions
    assert q1 == Question(
        id="q1",
        question="Who leads CISA?",
        expect=(("Easterly", "Jen Easterly"), ("director",)),
        articles=("cisa-director",),
    )
    assert q2.id == "2" and q2.unanswerable and q2.expect == ()
    assert q3.expect == (("Paris",), ("Lyon", "Lille")) and q3.articles == ("a", "b")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"question": "Who?", "expect": [["x"]]}', "missing 'id'"),
        ('{"id": "a", "expect": [["x"]]}', "missing 'question'"),
        ('{"id": "a", "question": "Who?"}', "needs 'expect'"),
        ('{"id": "a", "question": "Who?", "expect": []}', "non-empty list of groups"),
        ('{"id": "a", "question": "Who?", "expect": [["x", ""]]}', "non-empty strings"),
        ('{"id": "a", "question": "Who?", "unanswerable": "yes"}', "true or false"),
        ('{"id": "a", "question": "Who?", "unanswerable": true, "expect": [["x"]]}', "both"),
        ('{"id": "a", "question": "Who?", "expect": [["x"]], "article": 3}', "'article'"),
    ],
)
def test_bad_line_names_file_and_line_number(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, '{"id": "ok", "question": "Fine?", "expect": [["x"]]}', "", line)
    with pytest.raises(DatasetError, match=message) as info:
        load_jsonl(path)
    assert f"{path}:3:" in str(info.value)


def test_duplicate_ids_empty_and_missing_files(tmp_path: Path) -> None:
    line = '{"id": "a", "question": "Who?", "expect": [["x"]]}'
    with pytest.raises(DatasetError, match=r":2: duplicate id 'a'"):
        load_jsonl(write(tmp_path, line, line))
    with pytest.raises(DatasetError, match="no questions"):
        load_jsonl(write(tmp_path, "", "# only a comment"))
    with pytest.raises(DatasetError, match="Cannot read"):
        load_jsonl(tmp_path / "absent.jsonl")


def test_select_samples_reproducibly_and_keeps_order() -> None:
    questions = [Question(id=str(i), question=f"q{i}?") for i in range(100)]
    first = select(questions, sample=10, seed=7)
    assert first == select(questions, sample=10, seed=7)
    assert first != select(questions, sample=10, seed=8)
    assert [int(q.id) for q in first] == sorted(int(q.id) for q in first)
    assert select(questions, sample=10, seed=7, limit=3) == first[:3]
    assert len(select(questions, limit=5)) == 5 and select(questions, sample=500) == tuple(questions)
