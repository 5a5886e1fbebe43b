"""The runner and the report on a scripted fake engine: exact numbers, no model needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.errors import QuestionError
from index.types import Answer, ArticleHit, Citation
from measure.eval import report as report
from measure.eval import runner as runner
from measure.eval.dataset import Question, QuestionSet


def hit(article_id: str) -> ArticleHit:
    return ArticleHit(Citation(article_id, f"Title {article_id}", "s", "", None), score=1.0)


class FakeEngine:
    """Rankings per (question, mode) and canned answers per question."""

    def __init__(self, rankings: dict[tuple[str, str], list[str]], answers: dict[str, Answer]) -> None:
        self.rankings = rankings
        self.answers = answers
        self.asked: list[str] = []

    def search(self, query: str, *, k: int = 10, mode: str = "hybrid", asked_on: object = None) -> list[ArticleHit]:
        return [hit(a) for a in self.rankings[(query, mode)][:k]]

    def ask(self, question: str, *, k: int = 5, asked_on: object = None) -> Answer:
        self.asked.append(question)
        if len(question) > 40:
            raise QuestionError("That question is too long.")
        return self.answers[question]


QUESTIONS = (
    Question("q1", "Who leads CISA?", expect=(("Easterly",), ("director",)), articles=("a",), kind="who"),
    Question("q2", "When was the fine?", expect=(("2023",),), articles=("b", "c"), kind="when"),
    Question("q3", "What did the moon say?", unanswerable=True, kind="none"),
    Question("q4", "x" * 41, expect=(("y",),), articles=("a",), kind="who"),
)
ANSWERS = {
    "Who leads CISA?": Answer("Who leads CISA?", True, "Jen Easterly leads the agency."),
    "When was the fine?": Answer("When was the fine?", False, "I could not find it; the closest is 2023."),
    "What did the moon say?": Answer(
        "What did the moon say?",
        True,
        "The moon said nothing.",
        alternatives=(Answer("What did the moon say?", True, "Another moon spoke."),),
    ),
}
RANKINGS = {
    ("Who leads CISA?", "hybrid"): ["a", "b"],
    ("Who leads CISA?", "bm25"): ["b", "a"],
    ("Who leads CISA?", "dense"): ["b", "x", "y"],
    ("When was the fine?", "hybrid"): ["x", "c", "b"],
    ("When was the fine?", "bm25"): ["c"],
    ("When was the fine?", "dense"): ["x"],
    ("What did the moon say?", "hybrid"): ["a"],
    ("What did the moon say?", "bm25"): ["a"],
    ("What did the moon say?", "dense"): ["a"],
    ("x" * 41, "hybrid"): ["a"],
    ("x" * 41, "bm25"): ["a"],
    ("x" * 41, "dense"): ["a"],
}


@pytest.fixture
def results() -> list[runner.Result]:
    return runner.run(FakeEngine(RANKINGS, ANSWERS), QuestionSet("fake", QUESTIONS))


def test_per_question_results(results: list[runner.Result]) -> None:
    q1, q2, q3, q4 = results
    assert q1.ranks == {"hybrid": 1, "bm25": 2, "dense": None}
    assert q1.found == [True, False] and not q1.abstained
    assert set(q1.search_ms) == {"hybrid", "bm25", "dense"} and q1.ms >= 0.0
    assert q1.failures == ["answer lacks director"]
    assert q2.ranks == {"hybrid": 2, "bm25": 1, "dense": None}
    assert q2.recall["hybrid"] == 1.0 and q2.recall["bm25"] == 0.5
    # abstained: "2023" in its text does not count as an answer
    assert q2.abstained and q2.found == [False]
    assert q2.failures == ["gold article at rank 2", "abstained on an answerable question"]
    assert q2.top == ["Title x [x]", "Title c [c]", "Title b [b]"]
    assert q3.failures == ["answered an unanswerable question"] and q3.ranks == {
        "hybrid": None,
        "bm25": None,
        "dense": None,
    }
    assert (q1.stories, q2.stories, q3.stories) == (1, 0, 2)
    assert q4.error == "That question is too long." and q4.abstained and q4.found == [False]
    assert q4.failures == ["error: That question is too long."]


def test_summary_by_hand(results: list[runner.Result]) -> None:
    s = runner.summarize(results)
    assert s["questions"] == 4 and s["errors"] == 1
    ret = s["retrieval"]
    assert ret["n"] == 3  # q1, q2, q4 have gold articles; q3 is unanswerable
    # hybrid ranks 1, 2, 1 ; bm25 2, 1, 1 ; dense None, None, 1
    assert ret["hybrid"]["hits@1"] == pytest.approx(2 / 3)
    assert ret["hybrid"]["mrr@10"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert ret["bm25"]["mrr@10"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert ret["dense"]["hits@10"] == pytest.approx(1 / 3)
    assert ret["bm25"]["recall@10"] == pytest.approx((1 + 0.5 + 1) / 3)
    ans = s["answers"]
    assert ans["n"] == 3
    assert ans["fact_recall"] == pytest.approx((0.5 + 0 + 0) / 3)
    assert ans["exact_rate"] == 0.0
    assert ans["answer_words_p50"] == 4.5  # q1 (5 words) and q3 (4 words) were answered
    assert ans["several_stories"] == 0.5  # q3 offered another story; q1 did not
    ab = s["abstention"]
    # q2 and q4 abstained (answerable: fp); q3 unanswerable but answered (fn)
    assert (ab["tp"], ab["fp"], ab["fn"], ab["tn"]) == (0, 2, 1, 1)
    assert ab["precision"] == 0.0 and ab["recall"] == 0.0 and ab["f1"] == 0.0
    assert s["latency_ms"]["n"] == 3 and s["latency_ms"]["p50"] is not None
    assert s["by_kind"]["who"]["n"] == 2 and s["by_kind"]["who"]["hybrid_hits@1"] == 1.0
    assert s["by_kind"]["none"]["hybrid_hits@1"] is None


def test_report_files(results: list[runner.Result], tmp_path: Path) -> None:
    summary = {"set": "fake", "notes": ["a note"], **runner.summarize(results)}
    paths = report.write(tmp_path / "out", summary, results)
    data = json.loads(paths["json"].read_text())
    assert data["retrieval"]["hybrid"]["hits@1"] == pytest.approx(2 / 3) and data["failures"] == 4
    lines = paths["results"].read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["q1", "q2", "q3", "q4"]
    md = paths["markdown"].read_text()
    assert "| hybrid (full pipeline) | 0.667 |" in md
    assert "### q2: When was the fine?" in md and "Title x [x] | Title c [c] | Title b [b]" in md
    assert "- a note" in md and "![chart](report.png)" in md
    assert paths["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_without_retrieval_or_answers(tmp_path: Path) -> None:
    """A set of only unanswerable questions still reports (with empty values, not a crash)."""
    only = (Question("q3", "What did the moon say?", unanswerable=True),)
    results = runner.run(FakeEngine(RANKINGS, ANSWERS), QuestionSet("only", only))
    summary = {"set": "only", **runner.summarize(results)}
    paths = report.write(tmp_path, summary, results)
    assert summary["answers"]["fact_recall"] is None and summary["retrieval"]["n"] == 0
    assert "| abstention recall (1 unanswerable) | 0.000 |" in paths["markdown"].read_text()
