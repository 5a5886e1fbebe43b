"""A message's text read as a question (the "Ask policybot about this" menu)."""

from __future__ import annotations

import pytest

from index import QuestionError, question_from_text

LIMIT = 500


def test_short_text_is_the_whole_question_cleaned() -> None:
    assert question_from_text("  What did\u200b CISA\n order   about Ivanti? ") == "What did CISA order about Ivanti?"


def test_long_text_keeps_whole_first_sentences_within_the_limit() -> None:
    first = "CISA ordered agencies to disconnect Ivanti VPN appliances by February 2. "
    second = "Why did it do that? "
    filler = "More detail follows here. " * 30
    question = question_from_text(first + second + filler)
    assert question.startswith(first.strip() + " " + second.strip())
    assert len(question) <= LIMIT
    assert question.endswith(".") or question.endswith("?")  # whole sentences only


def test_one_overlong_sentence_is_cut_at_a_word() -> None:
    text = "word " * 200
    question = question_from_text(text)
    assert 0 < len(question) <= LIMIT and question.endswith("word")


def test_empty_or_symbol_text_is_refused_clearly() -> None:
    with pytest.raises(QuestionError, match="at least 3 characters"):
        question_from_text("🙂 ?!")
    with pytest.raises(QuestionError):
        question_from_text("")
