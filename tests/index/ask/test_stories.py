"""Ambiguous questions: a question several stories could answer is answered with the best story
and up to two others, each its own answer; a specific question gets one story. Real embedder and
real reader over articles written here (nothing tuned to them: only the structure is asserted)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from index import Engine
from index.ask._sentences import ScoredSentence
from index.ask._stories import MAX_ALTERNATIVES, one_story, other_stories
from index.models import make_reader
from index.settings import Settings
from index.types import Answer
from tests.support.articles import write_article
from tests.support.fakes import CountingReader

MEETINGS = {
    "white-house-meeting": (
        "White House hosts technology chiefs on cybersecurity",
        "2021-08-25",
        "President Biden met technology and finance executives at the White House on Wednesday to discuss "
        "cybersecurity. Apple chief executive Tim Cook and Microsoft chief executive Satya Nadella attended the "
        "meeting, along with leaders of JPMorgan Chase. The companies pledged billions of dollars for security "
        "training and zero-trust programmes.",
    ),
    "council-meeting": (
        "Riverton council meets after ransomware attack",
        "2023-05-10",
        "Riverton's city council held an emergency meeting on Tuesday after ransomware locked the city's billing "
        "systems. Mayor Ellen Park and fire chief Omar Reyes attended the meeting with the city's IT director. "
        "The council approved 2 million dollars to restore the systems.",
    ),
    "ministers-meeting": (
        "EU ministers meet in Brussels on connected devices",
        "2024-03-12",
        "Telecommunications ministers of the European Union met in Brussels on Monday to agree the Cyber "
        "Resilience Act. Commissioner Thierry Breton attended the meeting and urged ministers to finish the law "
        "before the summer. The act sets security rules for every connected device sold in the bloc.",
    ),
}
OTHERS = {
    "water-utility-breach": (
        "Water utility reports breach",
        "2022-03-01",
        "A water utility in Ohio said attackers stole the billing records of 12,500 customers in March. "
        "The utility has hired an outside firm to investigate. Regulators asked for a report within a month.",
    ),
    "port-ransom": (
        "Port operator pays hackers",
        "2022-06-01",
        "The port operator Harbourline paid a ransom of 300 bitcoin after its terminals went dark. "
        "Chief executive Sam Ortiz said the payment was the only way to restore cargo systems quickly.",
    ),
}
AMBIGUOUS = "Who attended the meeting?"
SPECIFIC = "How many customers of the Ohio water utility had billing records stolen?"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> tuple[Engine, CountingReader]:
    root = tmp_path_factory.mktemp("stories")
    for name, (title, published, body) in {**MEETINGS, **OTHERS}.items():
        write_article(root / "corpus", name, body, title=title, published=published)
    settings = Settings(
        _env_file=None, data_dir=root / "data", corpus_dir=root / "corpus", today=date(2026, 12, 1), reader_model=None
    )
    reader = CountingReader(make_reader(settings))  # type: ignore[arg-type]
    built = Engine(settings, embedder=embedder, reader=reader)  # type: ignore[arg-type]
    built.build()
    built.warm()  # the NER model loads in the background: without it, two asks may lead differently
    return built, reader


def story_ids(answer: Answer) -> list[str]:
    return [story.sources[0].article_id for story in (answer, *answer.alternatives)]


@pytest.mark.slow
def test_an_underspecified_question_gets_the_other_stories_best_first(engine: tuple[Engine, CountingReader]) -> None:
    asker, reader = engine
    before = len(reader.calls)
    answer = asker.ask(AMBIGUOUS)
    assert answer.answerable and 1 <= len(answer.alternatives) <= MAX_ALTERNATIVES
    ids = story_ids(answer)
    assert len(set(ids)) == len(ids) and set(ids) <= set(MEETINGS)  # distinct stories, all meetings
    scores = [story.sources[0].score for story in (answer, *answer.alternatives)]
    assert scores == sorted(scores, reverse=True)
    assert len(reader.calls) - before == 1  # every story read in the answer's one batch
    for story in answer.alternatives:
        assert story.answerable and story.question == answer.question and story.alternatives == ()
        (source,) = story.sources
        title, published, _ = MEETINGS[source.article_id]
        assert source.citation.title == title and source.citation.published == date.fromisoformat(published)
        assert source.citation.source and source.quote in story.text
        if story.short_answer is not None:  # the reader's span, verbatim in the story's own quote
            assert story.short_answer in source.quote
    assert any(story.short_answer for story in (answer, *answer.alternatives))
    assert answer.to_json()["alternatives"][0]["sources"][0]["article_id"] == ids[1]


@pytest.mark.slow
def test_a_specific_question_gets_one_story(engine: tuple[Engine, CountingReader]) -> None:
    asker, _ = engine
    answer = asker.ask(SPECIFIC)
    assert answer.answerable and answer.sources[0].article_id == "water-utility-breach"
    assert answer.alternatives == ()


@pytest.mark.slow
def test_the_other_stories_never_change_the_answer(engine: tuple[Engine, CountingReader]) -> None:
    asker, _ = engine
    tuning = asker.asker.answer_tuning
    try:
        offered = asker.ask(AMBIGUOUS)
        asker.asker.answer_tuning = replace(tuning, story_margin=-1.0)  # offers no other story
        asker.asker._composer = None
        alone = asker.ask(AMBIGUOUS)
    finally:
        asker.asker.answer_tuning = tuning
        asker.asker._composer = None
    assert offered.alternatives and alone.alternatives == ()
    assert replace(offered, alternatives=(), ms=0.0) == replace(alone, ms=0.0)


def sentence(sid: int, article: int, score: float) -> ScoredSentence:
    return ScoredSentence(sid, article, score, 0.0)


def articles(vectors: list[list[float]], days: list[int]) -> Any:
    """The arrays of a snapshot that the story check reads: one chunk per article."""
    return SimpleNamespace(
        chunk_vectors=np.array(vectors, dtype=np.float32),
        article_chunk_start=np.arange(len(vectors)),
        article_chunk_count=np.ones(len(vectors), dtype=np.int64),
        published_ordinal=np.array(days, dtype=np.int64),
    )


def test_other_stories_are_each_articles_best_sentence_within_the_margin() -> None:
    snap = articles([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], [100, 100, 100, 100])
    scored = [
        sentence(1, 0, 1.0),
        sentence(2, 0, 0.98),  # the answer's own article: never another story
        sentence(5, 1, 0.95),
        sentence(6, 1, 0.94),  # a second sentence of a story already offered
        sentence(9, 2, 0.91),
        sentence(12, 3, 0.7),  # too far below the answer
    ]
    assert other_stories(snap, scored, 0.1) == [scored[2], scored[4]]
    assert other_stories(snap, scored, 0.06) == [scored[2]]
    assert other_stories(snap, scored, -1.0) == [] and other_stories(snap, [], 0.1) == []


def test_one_event_from_several_outlets_is_one_story_but_a_later_one_is_news() -> None:
    event, other = [1.0, 0.1, 0.0], [0.0, 0.0, 1.0]
    snap = articles([event, event, event, other], [100, 101, 130, 100])
    scored = [sentence(1, 0, 1.0), sentence(2, 1, 0.99), sentence(3, 2, 0.98), sentence(4, 3, 0.97)]
    assert one_story(snap, 0, 1) and not one_story(snap, 0, 2) and not one_story(snap, 0, 3)
    assert other_stories(snap, scored, 0.1) == [scored[2], scored[3]]  # the next day's report folds
