"""Fixtures for the generation tests: the fake model server, passages, and spaCy loaded once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from index.generation._types import Passage
from tests.support.fake_llm import FakeLLM


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    with FakeLLM() as llm:
        yield llm


@pytest.fixture(scope="session")
def nlp() -> Any:
    """The shared en_core_web_sm (about 4 s, once); the tests still run if it is missing."""
    from index.models import ner

    return ner.get(wait=30)


@pytest.fixture
def passages() -> list[Passage]:
    return [
        Passage(
            1,
            "Biden hosts tech and finance chiefs at White House cybersecurity meeting",
            "AFP",
            date(2021, 8, 25),
            "Attending the session were CEOs Sundar Pichai of Google, Andy Jassy of Amazon and Tim Cook of Apple. "
            "Microsoft pledged $20 billion over five years. IBM said it would train 150,000 people.",
        ),
        Passage(
            2,
            "Colonial Pipeline paid ransom",
            "policybot sample",
            date(2021, 5, 19),
            "Colonial Pipeline paid a ransom of $4.4 million to the DarkSide group on 7 May 2021, "
            "its chief executive Joseph Blount said. About 45% of the East Coast's fuel runs through the pipeline.",
        ),
    ]
