"""The real reader on the bundled corpus: short answers are grounded in the reply, read once per
answer, and leave everything else of the answer exactly as it is without the reader."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from index import Engine
from index.ask import AnswerTuning
from index.ask._short import MAX_PASSAGES
from index.models import make_reader
from index.settings import Settings
from index.types import Answer
from tests.support.fakes import CountingReader

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
# Written for this test (none is in measure/data/questions.jsonl); the answers are not asserted.
QUESTIONS = [
    "Which Russian national did Australia sanction over the Medibank breach?",
    "Which ministers announced Australia's first cyber sanctions?",
    "What is the CVE number of the Log4Shell flaw?",
    "Which country declared a national emergency after the Conti ransomware attacks?",
    "How many customers were affected by the Optus data breach?",
    "Where was the 2021 summit between Biden and Putin held?",
    "Which company's faulty update caused the July 2024 outage of Windows computers?",
    "What did the FCC's Cyber Trust Mark label?",
]
OFF_TOPIC = "What is the best recipe for banana bread with walnuts?"


def settings_for(data: Path, reader_model: str | None) -> Settings:
    return Settings(
        _env_file=None, data_dir=data, corpus_dir=REPO / "corpus", today=date(2026, 12, 1), reader_model=reader_model
    )


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> tuple[Engine, Engine, CountingReader]:
    data = tmp_path_factory.mktemp("short") / "data"
    on = settings_for(data, None)
    reader = CountingReader(make_reader(on))  # type: ignore[arg-type]
    with_reader = Engine(on, embedder=embedder, reader=reader)  # type: ignore[arg-type]
    with_reader.build()
    without = Engine(settings_for(data, "off"), embedder=embedder)  # type: ignore[arg-type]
    return with_reader, without, reader


def comparable(answer: Answer) -> Answer:
    """Every field but the time taken, the short answer and the other stories (offered only when
    the reader finds them relevant), compared exactly (floats included)."""
    return replace(answer, ms=0.0, short_answer=None, alternatives=())


def quoted_sentences(answer: Answer) -> list[str]:
    return [source.quote for source in answer.sources]


def test_short_answers_stand_verbatim_in_a_quoted_sentence(engines: tuple[Engine, Engine, CountingReader]) -> None:
    engine, _, _ = engines
    answers = [engine.ask(q) for q in QUESTIONS]
    short = [a for a in answers if a.short_answer]
    assert len(short) >= len(QUESTIONS) // 2  # the reader does answer most of them
    for answer in short:
        assert answer.answerable
        assert answer.short_answer == answer.short_answer.strip() and answer.short_answer  # type: ignore[union-attr]
        assert any(answer.short_answer in quote for quote in quoted_sentences(answer)), answer.question
        assert answer.short_answer in answer.text


def test_the_reader_reads_once_per_answer_and_never_for_a_decline(
    engines: tuple[Engine, Engine, CountingReader],
) -> None:
    engine, _, reader = engines
    for question in QUESTIONS:
        before = len(reader.calls)
        answer = engine.ask(question)
        assert len(reader.calls) - before == (1 if answer.answerable else 0), question
        assert all(1 <= len(call) <= MAX_PASSAGES + AnswerTuning().candidate_articles - 1 for call in reader.calls[before:])
    before = len(reader.calls)
    declined = engine.ask(OFF_TOPIC)
    assert not declined.answerable and declined.short_answer is None and len(reader.calls) == before


def test_the_reader_changes_nothing_but_the_short_answer(engines: tuple[Engine, Engine, CountingReader]) -> None:
    """Ranking, quoted sentences, declines and confidence are the same with the reader off."""
    with_reader, without, _ = engines
    project = [json.loads(line)["question"] for line in (REPO / "measure/data/questions.jsonl").read_text().splitlines()]
    questions = [*QUESTIONS, OFF_TOPIC, *project[::6]]
    for question in questions:
        on, off = with_reader.ask(question), without.ask(question)
        assert comparable(on) == comparable(off), question
        assert off.short_answer is None and off.alternatives == ()
        assert [h.article_id for h in with_reader.search(question)] == [h.article_id for h in without.search(question)]


def test_the_reader_reads_exactly_what_the_reply_quotes(engines: tuple[Engine, Engine, CountingReader]) -> None:
    """One passage per quoted article, made of its quoted sentences in reading order: the sentence
    that answers is never outside what the reader reads (a chunk held only the first of them)."""
    engine, _, reader = engines
    for question in QUESTIONS:
        answer = engine.ask(question)
        if not answer.answerable:
            continue
        own = reader.calls[-1][: len(answer.sources)]
        assert own == [(s.citation.title, s.quote) for s in answer.sources], question
