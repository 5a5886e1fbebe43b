"""Answers: grounded in the right article, time-aware, deduplicated, filtered, and honest when absent."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from index import Engine, Filters
from index.errors import QuestionError
from index.settings import Settings
from tests.support.articles import write_article

pytestmark = pytest.mark.slow

ARTICLES = [
    ("hospital-march", "2022-03-10", "Regional Wire", "Ransomware hits Riverside hospital",
     "A ransomware attack forced Riverside General Hospital to divert ambulances on Tuesday. "
     "The hospital said 1,200 patient records were exposed. Staff returned to paper charts for a week."),
    ("hospital-september", "2023-09-14", "Regional Wire", "Ransomware hits Lakeside hospital",
     "A ransomware attack forced Lakeside Hospital to cancel surgeries on Monday. "
     "The hospital said 48,000 patient records were exposed. The attackers demanded $2 million."),
    ("summit-geneva", "2021-06-16", "Daily Ledger", "Leaders discuss cyber rules in Geneva",
     "President Elena Marsh met Premier Viktor Aldane in Geneva on Wednesday to discuss ransomware. "
     "Also attending were foreign ministers Ana Ruiz and Piotr Zalewski. "
     "The two leaders agreed to set up expert consultations on critical infrastructure."),
    ("wire-copy-a", "2022-11-02", "Wire One", "Port operator pays hackers",
     "The port operator Harbourline paid a ransom of 300 bitcoin after its terminals went dark. "
     "Chief executive Sam Ortiz said the payment was the only way to restore cargo systems quickly. "
     "The national cyber agency was informed on the same day."),
    ("wire-copy-b", "2022-11-02", "Wire Two", "Port operator Harbourline paid hackers, CEO says",
     "The port operator Harbourline paid a ransom of 300 bitcoin after its terminals went dark. "
     "Chief executive Sam Ortiz said the payment was the only way to restore cargo systems quickly. "
     "The national cyber agency was informed on the same day, officials said."),
    ("log-flaw", "2021-12-10", "Tech Desk", "Critical flaw in logging library",
     "Security teams rushed to patch CVE-2021-44228 in a widely used Java logging library. "
     "The flaw lets attackers run code by sending a crafted text string. "
     "Vendors published updates over the weekend."),
    ("markdown-chars", "2020-01-05", "Tech Desk", "Password rules under review",
     "The regulator said passwords such as *hunter2* and admin_root must be banned by suppliers. "
     "Suppliers have six months to comply with the password rule."),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Engine:
    root = tmp_path_factory.mktemp("answers")
    for name, published, source, title, body in ARTICLES:
        write_article(root / "corpus", name, body, title=title, source=source, published=published)
    settings = Settings(_env_file=None, data_dir=root / "data", corpus_dir=root / "corpus", today=date(2023, 9, 20))
    engine = Engine(settings, embedder=embedder)  # type: ignore[arg-type]
    engine.build()
    return engine


def test_answer_quotes_the_article_and_cites_it(engine: Engine) -> None:
    answer = engine.ask("How many patient records were exposed at Lakeside Hospital?")
    assert answer.answerable
    assert "48,000" in answer.text
    assert answer.sources[0].article_id == "hospital-september"
    first = answer.sources[0]
    assert first.quote and first.quote in " ".join(a[4] for a in ARTICLES)
    assert (first.citation.source, first.citation.published, first.citation.url) == (
        "Regional Wire", date(2023, 9, 14), "https://example.org/hospital-september"
    )


def test_a_named_time_ranks_that_time_first(engine: Engine) -> None:
    september = engine.search("Which hospital was hit by ransomware in September 2023?")
    march = engine.search("Which hospital was hit by ransomware in March 2022?")
    assert september[0].article_id == "hospital-september"
    assert march[0].article_id == "hospital-march"
    latest = engine.search("latest hospital ransomware attack")
    assert latest[0].article_id == "hospital-september"


def test_near_duplicates_fill_one_place(engine: Engine) -> None:
    hits = engine.search("Harbourline port ransom bitcoin")
    ids = [h.article_id for h in hits]
    assert len({"wire-copy-a", "wire-copy-b"} & set(ids)) == 1
    answer = engine.ask("How much did Harbourline pay the hackers?")
    assert "300 bitcoin" in answer.text
    assert len({s.article_id for s in answer.sources} & {"wire-copy-a", "wire-copy-b"}) == 1


def test_exact_identifiers_are_found(engine: Engine) -> None:
    assert engine.search("CVE-2021-44228")[0].article_id == "log-flaw"


def test_filters_restrict_the_articles(engine: Engine) -> None:
    only_tech = engine.search("ransomware attack", filters=Filters(source="tech desk"))
    assert only_tech and {h.citation.source for h in only_tech} == {"Tech Desk"}
    window = engine.search("ransomware attack", filters=Filters(since=date(2023, 1, 1), until=date(2023, 12, 31)))
    assert [h.article_id for h in window] == ["hospital-september"]
    assert engine.search("ransomware", filters=Filters(since=date(2030, 1, 1))) == []
    assert not engine.ask("How many records were exposed?", filters=Filters(since=date(2030, 1, 1))).answerable


def test_who_question_marks_names(engine: Engine) -> None:
    answer = engine.ask("Who attended the Geneva meeting?")
    assert answer.answerable and answer.sources[0].article_id == "summit-geneva"
    marked = {answer.text[s.start : s.end] for s in answer.spans}
    for name in ("Ana Ruiz", "Piotr Zalewski"):
        assert name in answer.text
    assert "Elena Marsh" in marked and marked <= {w for w in marked if w in answer.text}
    assert {s.kind for s in answer.spans} == {"name"}
    assert "**" not in answer.text  # the engine writes plain text; front ends add the markup


def test_follow_up_uses_the_previous_question(engine: Engine) -> None:
    answer = engine.ask("and who else was there?", previous="Who met in Geneva to discuss ransomware?")
    assert answer.sources and answer.sources[0].article_id == "summit-geneva"


def test_unrelated_questions_are_declined(engine: Engine) -> None:
    for question in ("What is the best recipe for banana bread?", "Who won the 1998 football world cup final?"):
        answer = engine.ask(question)
        assert not answer.answerable, question
        assert answer.sources == ()
        assert "could not find" in answer.text


def test_markdown_in_articles_stays_verbatim_in_plain_text(engine: Engine) -> None:
    answer = engine.ask("Which passwords must suppliers ban?")
    assert answer.sources[0].article_id == "markdown-chars"
    assert "*hunter2*" in answer.text and "admin_root" in answer.text  # escaping is the renderer's job
    assert "*hunter2*" in answer.sources[0].quote


@pytest.mark.parametrize("bad", ["", "  ", "?!", "x" * 501])
def test_bad_questions_get_a_clear_error(engine: Engine, bad: str) -> None:
    with pytest.raises(QuestionError):
        engine.ask(bad)


def test_one_encode_per_question(engine: Engine) -> None:
    calls: list[int] = []
    inner = engine.embedder.encode

    def counting(texts):  # type: ignore[no-untyped-def]
        calls.append(len(texts))
        return inner(texts)

    engine.embedder.encode = counting  # type: ignore[method-assign]
    try:
        engine.ask("What did the attackers demand from Lakeside Hospital?")
    finally:
        del engine.embedder.encode
    assert calls == [1]


def test_json_shape(engine: Engine) -> None:
    data = engine.ask("What did vendors publish for the logging flaw?").to_json()
    assert set(data) >= {"question", "answerable", "answer", "spans", "sources", "ms", "index_version"}
    assert data["index_version"] == engine.stats().version and "**" not in data["answer"]
    assert set(data["sources"][0]) >= {"title", "source", "url", "published", "quote", "score"}
    assert data["sources"][0]["published"] == "2021-12-10"


def test_seed_meeting_question_over_the_bundled_corpus(tmp_path: Path, embedder: object) -> None:
    """The user's own example: 'who attended the meeting?' over the whole bundled corpus."""
    from tests.support import REPO

    engine = Engine(Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=REPO / "corpus"), embedder=embedder)  # type: ignore[arg-type]
    engine.build()
    answer = engine.ask("who attended the meeting?")
    plain = answer.text
    assert answer.answerable
    assert answer.sources[0].article_id == "biden-cybersecurity-meeting"
    for ceo in ("Sundar Pichai", "Andy Jassy", "Tim Cook", "Satya Nadella"):
        assert ceo in plain
    assert "JPMorgan Chase" in plain and "Bank of America" in plain
