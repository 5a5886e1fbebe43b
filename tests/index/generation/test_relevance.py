"""Written answers must carry what the reader found, not only be grounded: the rule on its own, and
through the writer against the fake model server on 127.0.0.1 (real HTTP, prompt, checker, fallback)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from index.generation import Writer
from index.generation._bridge import passages, reading
from index.generation._checker import check
from index.generation._relevance import carries, relevance
from index.generation._types import Passage, Reading
from index.settings import Settings
from index.types import Answer, Citation, Source
from tests.support.fake_llm import FakeLLM, Reply

QUESTION = "What did the companies pledge at the White House summit?"
BEST = "Microsoft pledged $20 billion over five years to improve security."
SUMMIT = Source(
    Citation(
        "wh-summit", "Tech giants pledge billions at White House summit", "AFP", "https://e.org/wh", date(2021, 8, 25)
    ),
    f"{BEST} Google said it would invest $10 billion.",
    0.9,
)
OPEN_SOURCE = Source(
    Citation("oss-summit", "Open-source security summit", "Wire", "https://e.org/oss", date(2022, 5, 13)),
    "Companies pledged $30 million to secure open-source software.",
    0.7,
)
QUOTED = f"{SUMMIT.quote} [1]"
ANSWER = Answer(
    QUESTION, True, QUOTED, sources=(SUMMIT,), quoted=QUOTED, short_answer="$20 billion", extra=(OPEN_SOURCE,)
)


@pytest.fixture(params=["spacy", "patterns"])
def pipeline(request: pytest.FixtureRequest, nlp: Any) -> Any:
    if request.param == "spacy" and nlp is None:
        pytest.skip("en_core_web_sm is not installed")
    return nlp if request.param == "spacy" else None


@pytest.fixture
def passages_() -> list[Passage]:
    """The best story as [1], the other story (an extra article the model may cite) as [2]."""
    return passages(ANSWER)


def found(short: str | None = "$20 billion") -> Reading:
    reading_ = reading(replace(ANSWER, short_answer=short))
    assert reading_ is not None
    return reading_


@pytest.mark.parametrize(
    ("text", "short", "reason"),
    [
        ("The companies made pledges at the White House summit [1].", "$20 billion", "only restates the question"),
        ("At the White House summit, the companies pledged [1].", None, "only restates the question"),
        ("The companies pledged $30 million [2].", "$20 billion", "'$30 million' is not in the best story [1]"),
        ("Microsoft pledged $20 billion [1] and others $30 million [2].", "$20 billion", "'$30 million'"),
        ("Google said it would invest $10 billion [1].", "$20 billion", "leaves out the reader's answer '$20 billion'"),
        ("Google said it would invest $10 billion [1].", None, "carries no name, date or number of the best"),
        ("The companies made pledges to improve the summit's security [1].", None, "carries no name, date or number"),
    ],
)
def test_grounded_but_beside_the_point_fails(
    text: str, short: str | None, reason: str, pipeline: Any, passages_: list[Passage]
) -> None:
    outcome = check(text, passages_, question=QUESTION, reading=found(short), nlp=pipeline)
    assert reason in outcome
    assert check(text, passages_, nlp=pipeline) == "passed"  # grounded: only relevance refuses it


@pytest.mark.parametrize(
    ("text", "short"),
    [
        ("Microsoft pledged $20 billion over five years [1].", "$20 billion"),
        ("Microsoft pledged 20 billion dollars [1].", "$20 billion"),  # the same number, written differently
        ("Microsoft pledged $20bn to improve security [1].", "$20 billion"),
        ("Microsoft pledged money over five years [1].", "Microsoft"),
        ("Microsoft pledged $20 billion [1].", None),  # no short answer: a fact of the best sentence
        ("Microsoft made a pledge over five years [1].", None),
    ],
)
def test_an_answer_carrying_what_the_reader_found_passes(
    text: str, short: str | None, pipeline: Any, passages_: list[Passage]
) -> None:
    assert check(text, passages_, question=QUESTION, reading=found(short), nlp=pipeline) == "passed"


def test_a_fact_free_best_sentence_still_needs_its_words() -> None:
    story = Passage(1, "Agency rule", "Wire", None, "The rule aims to make reporting simpler for hospitals.")
    why = Reading(None, story.text, story)
    question = "Why did the agency issue the rule?"
    assert (
        relevance("The agency issued the rule [1].", question, why, None)
        == "the written answer only restates the question"
    )
    assert "carries nothing" in relevance("The agency issued the rule for safety [1].", question, why, None)
    assert relevance("The rule makes reporting simpler for hospitals [1].", question, why, None) == "passed"


@pytest.mark.parametrize(
    ("body", "short", "expected"),
    [
        ("Sundar Pichai, Andy Jassy, and Tim Cook attended.", "Sundar Pichai, Andy Jassy and Tim Cook", True),
        ("Pichai, Jassy and Cook attended.", "Sundar Pichai, Andy Jassy and Tim Cook", False),
        ("The US signed it.", "the U.S.", True),
        ("It was due on Feb. 2, 2024.", "February 2, 2024", True),
        ("It was due on February 3, 2024.", "February 2, 2024", False),
        ("It trains 150 thousand people.", "150,000 people", True),
        ("It trains people.", "150,000 people", False),
    ],
)
def test_the_short_answer_is_matched_in_normal_form(body: str, short: str, expected: bool) -> None:
    assert carries(body, short) is expected


# ---- through the writer, against the fake model server -----------------------------------------
@pytest.fixture
def writer(tmp_path: Path) -> Iterator[tuple[Writer, FakeLLM]]:
    with FakeLLM() as llm:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path / "data",
            corpus_dir=tmp_path / "corpus",
            llm_url=llm.url,
            llm_model="fake",
            llm_timeout=10,
        )
        yield Writer(settings), llm


@pytest.mark.parametrize(
    ("draft", "short", "reason"),
    [
        ("The companies made pledges at the White House summit [1].", "$20 billion", "only restates the question"),
        ("The companies pledged $30 million [2].", "$20 billion", "'$30 million' is not in the best story [1]"),
        ("The companies pledged $30 million [2].", None, "'$30 million' is not in the best story [1]"),
    ],
)
def test_the_writer_falls_back_to_the_quoted_answer(
    writer: tuple[Writer, FakeLLM], draft: str, short: str | None, reason: str
) -> None:
    write, llm = writer
    llm.reply = Reply(draft)
    written = write.write(replace(ANSWER, short_answer=short))
    assert written.generated is False and reason in written.checker
    assert written.text == QUOTED and written.sources == (SUMMIT,)  # the quoted answer, its sources as they were
    assert len(llm.requests) == 1


@pytest.mark.parametrize(
    ("draft", "short"),
    [
        ("Microsoft pledged $20 billion over five years [1].", "$20 billion"),  # carries the span
        ("Microsoft pledged 20 billion dollars to improve security [1].", None),  # a fact of the best sentence
    ],
)
def test_the_writer_sends_an_answer_that_carries_the_finding(
    writer: tuple[Writer, FakeLLM], draft: str, short: str | None
) -> None:
    write, llm = writer
    llm.reply = Reply(draft)
    written = write.write(replace(ANSWER, short_answer=short))
    assert written.generated is True and written.checker == "passed"
    assert written.text == draft and written.short_answer == short
    prompt = llm.requests[0]["messages"][-1]["content"]
    assert ('answers it with the words "$20 billion"' in prompt) is (short is not None)  # the model is told the span
