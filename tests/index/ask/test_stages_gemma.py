"""Opt-in: the real EmbeddingGemma-300M as the re-scorer (never in CI: a 1.2 GB model, ~1 s per chunk).

Set ``POLICYBOT_TEST_GEMMA`` to the assembled sentence-transformers folder
(``../shared/tools/fetch-models.sh OUT gemma``) to run it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from index.engine import Engine
from index.settings import Settings
from tests.support.articles import write_article
from tests.support.fakes import FakeEncoder

GEMMA = os.environ.get("POLICYBOT_TEST_GEMMA", "")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not GEMMA or not Path(GEMMA).is_dir(), reason="set POLICYBOT_TEST_GEMMA to the model folder"),
]

STORIES = {
    "summit": "Leaders of Google, Apple and Microsoft met the president at the White House to discuss "
    "cybersecurity. The companies pledged billions of dollars for security training and zero trust programs.",
    "pipeline": "A ransomware gang shut down the largest fuel pipeline on the East Coast. Drivers queued for "
    "petrol for a week until the operator paid the criminals.",
    "hospital": "A hospital chain moved patients to other sites after its records system was encrypted. "
    "Surgeons went back to paper charts for ten days.",
}


def test_gemma_rescoring_is_stored_with_its_prompts_and_ranks_a_paraphrase(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    for name, body in STORIES.items():
        write_article(corpus, name, body)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=corpus, rescore_model=GEMMA, threads=2)
    engine = Engine(settings, embedder=FakeEncoder())
    engine.build()
    snap = engine.snapshot()
    assert snap.rescorer is not None and snap.rescorer["dim"] == 768
    assert snap.rescorer["query_prompt"] and snap.rescorer["document_prompt"]
    assert snap.rescore_chunk_vectors is not None and snap.rescore_chunk_vectors.shape[1] == 768
    # no word in common with the right story: only the re-scorer can find it
    hits = engine.search("Which firm stopped delivering gasoline because hackers locked its computers?", k=3)
    assert hits[0].article_id == "pipeline"
