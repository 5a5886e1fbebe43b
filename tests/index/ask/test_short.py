"""The short answer: read once from the quoted passages, kept only when sure and verbatim in the reply."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import Engine
from index.settings import Settings
from tests.support.articles import write_article
from tests.support.fakes import FakeEncoder, FakeReader

BREACH = (
    "A water utility in Ohio said attackers stole the billing records of 12,500 customers in March. "
    "The utility has hired an outside firm to investigate. Regulators asked for a report within a month."
)
PORT = (
    "The port operator Harbourline paid a ransom of 300 bitcoin after its terminals went dark. "
    "Chief executive Sam Ortiz said the payment was the only way to restore cargo systems quickly."
)
QUESTION = "How many customers of the Ohio water utility had billing records stolen?"


def engine_with(tmp_path: Path, reader: FakeReader | None, reader_model: str | None = None) -> Engine:
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        write_article(corpus, "water-utility-breach", BREACH, title="Water utility reports breach")
        write_article(corpus, "port-ransom", PORT, title="Port operator pays hackers")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=corpus, reader_model=reader_model)
    engine = Engine(settings, embedder=FakeEncoder(), reader=reader)
    engine.build()
    return engine


def test_the_reader_reads_the_quoted_passage_once_and_its_words_become_the_short_answer(tmp_path: Path) -> None:
    reader = FakeReader("12,500 customers")
    answer = engine_with(tmp_path, reader).ask(QUESTION)
    assert answer.answerable
    assert answer.short_answer == "12,500 customers"
    assert len(reader.calls) == 1 and 1 <= len(reader.calls[0]) <= 2
    title, text = reader.calls[0][0]
    assert title == "Water utility reports breach" and "12,500" in text
    assert answer.to_json()["short_answer"] == "12,500 customers"


@pytest.mark.parametrize(
    ("reader", "why"),
    [
        (FakeReader("12,500 customers", relevance=-1.0), "below the reader's relevance threshold"),
        (FakeReader("12,500 customers", answer_score=-0.5), "the null span beats the best span"),
        (FakeReader("Regulators asked for a report"), "words the reply does not quote"),
    ],
)
def test_an_unsure_or_unquoted_span_is_no_short_answer(tmp_path: Path, reader: FakeReader, why: str) -> None:
    answer = engine_with(tmp_path, reader).ask(QUESTION)
    assert answer.answerable and len(reader.calls) == 1
    if why == "words the reply does not quote":
        assert "Regulators asked" not in answer.quoted  # the premise: the reader found words outside the reply
    assert answer.short_answer is None, why


def test_a_declined_answer_is_never_read(tmp_path: Path) -> None:
    reader = FakeReader("12,500 customers")
    answer = engine_with(tmp_path, reader).ask("What is the best recipe for banana bread with walnuts?")
    assert not answer.answerable
    assert answer.short_answer is None and reader.calls == []


def test_reader_off_gives_no_short_answer_and_loads_nothing(tmp_path: Path) -> None:
    engine = engine_with(tmp_path, None, reader_model="off")
    answer = engine.ask(QUESTION)
    assert answer.answerable and answer.short_answer is None
    assert engine.models.reader is None


def test_turning_the_reader_off_in_new_settings_drops_the_reader(tmp_path: Path) -> None:
    reader = FakeReader("12,500 customers")
    engine = engine_with(tmp_path, reader, reader_model=None)
    engine.settings = engine.settings.model_copy(update={"reader_model": "off"})
    assert engine.ask(QUESTION).short_answer is None and reader.calls == []
