"""Sentence splitting, chunk windows, question terms and time expressions."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from index.ask._query import contextualize, is_follow_up
from index.corpus._chunking import MAX_CHUNK_WORDS, chunk_sentences, split_sentences
from index.dates import parse_time
from index.terms import content_terms, fts_query

TODAY = date(2026, 11, 26)


def test_sentences_respect_abbreviations_and_line_breaks() -> None:
    text = "Dr. Smith met U.S. officials in Washington, D.C. on Monday. They talked.\nPhoto: AFP\nA new line."
    sentences = split_sentences(text)
    assert sentences[0] == "Dr. Smith met U.S. officials in Washington, D.C. on Monday."
    assert "Photo: AFP" in sentences
    assert sentences[-1] == "A new line."


def test_chunks_overlap_and_cover_every_sentence() -> None:
    sentences = [f"Sentence number {i} is here." for i in range(10)]
    chunks = chunk_sentences(sentences, size=4, overlap=1)
    covered = {i for c in chunks for i in range(c.first_sentence, c.last_sentence + 1)}
    assert covered == set(range(10))
    for a, b in itertools.pairwise(chunks):
        assert b.first_sentence == a.last_sentence  # exactly one sentence shared
    assert all(c.last_sentence - c.first_sentence < 4 for c in chunks)


def test_chunks_stay_under_the_word_cap() -> None:
    long = " ".join(["word"] * 70) + "."
    chunks = chunk_sentences([long] * 6, size=4, overlap=1)
    assert all(len(c.text.split()) <= MAX_CHUNK_WORDS for c in chunks)
    with pytest.raises(ValueError):
        chunk_sentences(["a."], size=2, overlap=2)


def test_run_on_sentences_are_split() -> None:
    sentences = split_sentences(" ".join(["item"] * (MAX_CHUNK_WORDS * 2 + 5)))
    assert len(sentences) == 3


def test_terms_keep_identifiers_and_drop_question_words() -> None:
    terms = content_terms("Who patched CVE-2021-44228 under EO 14028 in the U.S.?")
    assert terms == ["patched", "cve-2021-44228", "eo", "14028", "u.s"]
    assert fts_query(terms) == '"patched" OR "cve 2021 44228" OR "eo" OR "14028" OR "u s"'
    assert fts_query(content_terms("who is it?")) is None


@pytest.mark.parametrize(
    ("question", "start", "end", "recent"),
    [
        ("Who attended the meeting in August 2021?", date(2021, 8, 1), date(2021, 8, 31), False),
        ("What happened on May 7, 2021?", date(2021, 5, 4), date(2021, 5, 14), False),
        ("What happened on 25 August 2021?", date(2021, 8, 22), date(2021, 9, 1), False),
        ("Which rules passed in 2023?", date(2023, 1, 1), date(2023, 12, 31), False),
        ("What did CISA say last week?", date(2026, 11, 12), TODAY, False),
        ("ransomware attacks this year", date(2026, 1, 1), TODAY, False),
        ("What is the latest on NIS2?", None, None, True),
    ],
)
def test_time_expressions(question: str, start: date | None, end: date | None, recent: bool) -> None:
    hint = parse_time(question, TODAY)
    assert hint is not None
    assert (hint.start, hint.end, hint.recent) == (start, end, recent)


def test_identifiers_are_not_years() -> None:
    assert parse_time("How was CVE-2021-44228 exploited?", TODAY) is None


def test_follow_ups_borrow_the_previous_question() -> None:
    assert is_follow_up("and who else was there?")
    assert not is_follow_up("What did the SEC adopt in July 2023 about incident disclosure?")
    assert contextualize("and who else was there?", "Who attended the meeting?") == (
        "Who attended the meeting? and who else was there?"
    )
    assert contextualize("What is NIS2?", "Who attended the meeting?") == "What is NIS2?"
