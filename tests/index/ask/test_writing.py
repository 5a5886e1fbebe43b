"""What the model may read and what is sent: passages numbered like the sources, extra articles
added only when cited (renumbered), the quoted answer kept on every failure; eval judgements."""

from __future__ import annotations

from datetime import date

from index.generation._bridge import merge, passages
from index.generation._types import Written
from index.types import Answer, Citation, Source, Span
from measure.eval.dataset import Question
from measure.eval.written import judged, record


def source(article: str, quote: str) -> Source:
    return Source(Citation(article, article.title(), "wire", f"https://example.org/{article}", date(2023, 5, 1)), quote, 0.5)


ANSWER = Answer(
    "Did both agencies fine the company?",
    True,
    "The FTC fined Acme 5 million dollars. [1]",
    spans=(Span(4, 7, "name"),),
    sources=(source("ftc", "The FTC fined Acme 5 million dollars."),),
    quoted="The FTC fined Acme 5 million dollars. [1]",
    checker="off",
    extra=(source("sec", "The SEC reviewed Acme."), source("fcc", "The FCC fined Acme 2 million dollars.")),
)


def test_passages_follow_the_sources_then_the_extra_articles() -> None:
    numbered = passages(ANSWER)
    assert [(p.number, p.title) for p in numbered] == [(1, "Ftc"), (2, "Sec"), (3, "Fcc")]
    assert numbered[2].text == "The FCC fined Acme 2 million dollars."


def test_a_cited_extra_article_becomes_a_source_and_is_renumbered() -> None:
    text = "Yes, the FTC fined Acme 5 million dollars [1] and the FCC 2 million dollars [3]."
    sent = merge(ANSWER, Written(text, True, "passed", (1, 3), "fake", 5.0))
    assert sent.generated and sent.checker == "passed" and sent.spans == ()
    assert sent.text == "Yes, the FTC fined Acme 5 million dollars [1] and the FCC 2 million dollars [2]."
    assert [s.article_id for s in sent.sources] == ["ftc", "fcc"]
    assert sent.quoted == ANSWER.quoted


def test_a_failed_attempt_keeps_the_quoted_answer_and_the_reason() -> None:
    sent = merge(ANSWER, Written("", False, "no citation in sentence 1", (), "fake", 5.0))
    assert sent.text == ANSWER.text and sent.spans == ANSWER.spans and sent.sources == ANSWER.sources
    assert not sent.generated and sent.checker == "no citation in sentence 1"


def test_yes_no_is_judged_by_the_first_word() -> None:
    assert judged("Yes, both did [1][2].", "Yes")
    assert not judged("The FTC did not say yes [1].", "Yes")
    assert judged("No [1].", "No.") and judged("The earlier one came before the other [1].", "before")


def test_record_scores_facts_and_citation_precision() -> None:
    q = Question("1", ANSWER.question, expect=(("Yes",),), articles=("ftc",), kind="comparison_query (yes/no)")
    sent = merge(ANSWER, Written("Yes, the FTC [1] and the FCC fined Acme [3].", True, "passed", (1, 3), "fake", 5.0))
    row = record(q, sent, 1200.0)
    assert row["generated"] and row["judged"] is True and row["quoted_judged"] is False
    assert row["found"] == [True] and (row["cited"], row["cited_good"]) == (2, 1)
