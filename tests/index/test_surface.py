"""The engine's public surface and the one-pass /ask path.

``import index`` stays light (values, errors, settings; the engine on first use), every declared name
resolves, and one question fits each candidate article's sentences once, with the same answer as
stages that each score the sentences afresh.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import index
from index import Engine
from index.ask._compose import Composer
from index.ask._sentences import SentenceScores
from index.settings import Settings
from tests.support import REPO
from tests.support.articles import write_article
from tests.support.fakes import FakeEncoder

STORIES = {
    "lakeside": "A ransomware attack hit Lakeside Hospital. The attackers demanded two million dollars. "
    "The hospital said 48,000 patient records were exposed.",
    "riverside": "Riverside General Hospital diverted ambulances after a ransomware attack. "
    "Staff returned to paper charts for a week.",
    "summit": "Leaders met in Geneva to discuss ransomware and hospital attacks. "
    "They agreed to set up expert consultations.",
}


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    for name, body in STORIES.items():
        write_article(tmp_path / "corpus", name, body, title=name.title())
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus")
    engine = Engine(settings, embedder=FakeEncoder())
    engine.build()
    return engine


def test_importing_index_loads_neither_the_engine_nor_a_model() -> None:
    heavy = ["index.engine", "index.ask", "index.store", "index.models", "faiss", "torch", "numpy"]
    code = f"import sys, index; print(__import__('json').dumps([m for m in {heavy!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_every_declared_name_resolves() -> None:
    missing = [name for name in index.__all__ if getattr(index, name, None) is None]
    assert missing == []
    with pytest.raises(AttributeError):
        index.Composer  # type: ignore[attr-defined]  # private to index.ask  # noqa: B018


def test_one_question_fits_each_article_once_and_answers_as_fresh_stages_would(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    fitted: list[int] = []
    fit = SentenceScores._fit_article

    def counting(self: SentenceScores, idx: int) -> Any:
        fitted.append(idx)
        return fit(self, idx)

    composers: list[Composer] = []
    init = Composer.__init__

    def counting_init(self: Composer, *args: Any, **kwargs: Any) -> None:
        composers.append(self)
        init(self, *args, **kwargs)

    monkeypatch.setattr(SentenceScores, "_fit_article", counting)
    monkeypatch.setattr(Composer, "__init__", counting_init)
    question = "How many patient records were exposed at the hospital?"
    answer = engine.ask(question)
    assert answer.answerable and "48,000" in answer.text
    assert len(fitted) == len(STORIES) and len(set(fitted)) == len(fitted)  # re-ranked and composed from one fit
    engine.ask("Who demanded money from the hospital?")
    assert len(composers) == 1  # the snapshot's composer (its word weights) made once

    # The same answer from stages that each score the sentences afresh (as before the one pass).
    snap = engine.snapshot()
    query = engine.asker.query(question)
    fresh = Composer(snap, engine.asker.answer_tuning)
    ranked = engine.asker.rank(snap, query, limit=max(5, fresh.tuning.candidate_articles))
    again = fresh.compose(query, ranked)
    assert replace(again, ms=0.0) == replace(answer, ms=0.0)
