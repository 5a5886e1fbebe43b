"""Embedder is right for any sentence-transformers model, checked against the model's own encode.

A tiny random BERT (32-d) with mean pooling, a Dense layer, Normalize and query/document prompts is
built and saved by the tests, so they run offline in seconds; the MiniLM test uses the bundled model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.models._embedder import Embedder
from tests.support.tiny_models import save_tiny_model, torch  # skips this module where torch is absent

SENTENCE = "The agency issued new rules for reporting ransomware attacks on hospitals within three days"
CHUNK = "Cyber rules. The agency issued new rules. Hospitals must report attacks within three days. Fines follow."


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def tiny_embedder(tiny: Path) -> Embedder:
    return Embedder(str(tiny), batch_size=4, threads=1)


@pytest.fixture(scope="module")
def reference(tiny: Path) -> Any:
    """The model loaded on its own, for its own encode path."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny), device="cpu")


def _spans(text: str, sentences: list[str]) -> list[tuple[int, int]]:
    spans = []
    for sentence in sentences:
        start = text.index(sentence)
        spans.append((start, start + len(sentence)))
    return spans


def test_prompts_default_to_the_models_own(tiny_embedder: Embedder) -> None:
    assert tiny_embedder.query_prompt == "query: "
    assert tiny_embedder.document_prompt == "passage: "
    assert tiny_embedder.dim == 16
    assert tiny_embedder._token_pooling  # Dense after mean pooling still takes the one-pass path


def test_chunk_vectors_match_the_models_encode_with_document_prompt(tiny_embedder: Embedder, reference: Any) -> None:
    texts = [CHUNK, SENTENCE, "Short one.", CHUNK + " " + SENTENCE]
    spans = [[(0, len(t))] for t in texts]
    got = np.stack([c.vector for c in tiny_embedder.encode_chunks(texts, spans)])
    expected = reference.encode(texts, prompt="passage: ", normalize_embeddings=True)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    without_prompt = reference.encode(texts, normalize_embeddings=True)
    assert not np.allclose(got, without_prompt, atol=1e-3)


def test_sentence_vector_is_the_models_own_path_over_its_tokens(tiny_embedder: Embedder, reference: Any) -> None:
    (chunk,) = tiny_embedder.encode_chunks([SENTENCE], [[(0, len(SENTENCE))]])
    # Expected, with the model's own modules: token embeddings of "passage: SENTENCE", mean over the
    # sentence's tokens only ([CLS] and the prompt's tokens before it, [SEP] after it), Dense, Normalize.
    tokenizer = reference.tokenizer
    prompt_tokens = len(tokenizer("passage: ", add_special_tokens=False)["input_ids"])
    features = reference.preprocess(["passage: " + SENTENCE])
    with torch.inference_mode():
        tokens = reference[0](features)["token_embeddings"][0]
        pooled = {"sentence_embedding": tokens[1 + prompt_tokens : -1].mean(dim=0, keepdim=True)}
        for module in list(reference)[2:]:
            pooled = module(pooled)
    expected = pooled["sentence_embedding"][0].numpy()
    np.testing.assert_allclose(chunk.sentence_vectors[0], expected, atol=1e-5)
    # and it stays close to what the model gives for the sentence on its own
    alone = reference.encode(SENTENCE, prompt="passage: ", normalize_embeddings=True)
    assert _cosine(chunk.sentence_vectors[0], alone) > 0.9


def test_sentences_in_a_chunk_are_unit_vectors_of_the_right_size(tiny_embedder: Embedder) -> None:
    sentences = ["The agency issued new rules.", "Hospitals must report attacks within three days."]
    (chunk,) = tiny_embedder.encode_chunks([CHUNK], [_spans(CHUNK, sentences)])
    assert chunk.sentence_vectors.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(chunk.sentence_vectors, axis=1), 1.0, atol=1e-5)
    assert _cosine(chunk.sentence_vectors[0], chunk.sentence_vectors[1]) < 0.999


def test_truncate_dim_keeps_the_first_dimensions_renormalised(tiny: Path, tiny_embedder: Embedder) -> None:
    small = Embedder(str(tiny), batch_size=4, threads=1, truncate_dim=8)
    assert small.dim == 8
    sentences = ["The agency issued new rules.", "Hospitals must report attacks within three days."]
    spans = [_spans(CHUNK, sentences)]
    (full,) = tiny_embedder.encode_chunks([CHUNK], spans)
    (cut,) = small.encode_chunks([CHUNK], spans)

    def first8(v: np.ndarray) -> np.ndarray:
        head = v[..., :8]
        return head / np.linalg.norm(head, axis=-1, keepdims=True)

    assert cut.vector.shape == (8,) and cut.sentence_vectors.shape == (2, 8)
    np.testing.assert_allclose(cut.vector, first8(full.vector), atol=1e-5)
    np.testing.assert_allclose(cut.sentence_vectors, first8(full.sentence_vectors), atol=1e-5)
    query = small.encode_query("who issued the rules?")
    assert query.shape == (8,)
    np.testing.assert_allclose(query, first8(tiny_embedder.encode_query("who issued the rules?")), atol=1e-5)
    for vector in [cut.vector, query, *cut.sentence_vectors]:
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_encode_query_uses_the_query_prompt(tiny_embedder: Embedder, reference: Any) -> None:
    question = "Which agency issued the new rules?"
    got = tiny_embedder.encode_query(question)
    np.testing.assert_allclose(got, reference.encode(question, prompt="query: ", normalize_embeddings=True), atol=1e-5)
    assert not np.allclose(got, reference.encode(question, normalize_embeddings=True), atol=1e-3)


def test_explicit_prompts_override_and_empty_switches_off(tiny: Path, reference: Any) -> None:
    plain = Embedder(str(tiny), threads=1, query_prompt="", document_prompt="")
    assert plain.query_prompt is None and plain.document_prompt is None
    np.testing.assert_allclose(plain.encode_query("x y"), reference.encode("x y", normalize_embeddings=True), atol=1e-5)
    custom = Embedder(str(tiny), threads=1, query_prompt="search_query: ")
    assert custom.query_prompt == "search_query: " and custom.document_prompt == "passage: "


def test_signature_changes_with_what_changes_vectors(tiny: Path, tmp_path: Path, tiny_embedder: Embedder) -> None:
    base = tiny_embedder.signature()
    assert base["dim"] == 16 and base["pooling"] == "mean" and base["normalized"] is True
    assert base == Embedder(str(tiny), batch_size=8, threads=2).signature()  # batching and threads do not matter
    variants = [
        Embedder(str(tiny), threads=1, query_prompt="q: "),
        Embedder(str(tiny), threads=1, document_prompt="d: "),
        Embedder(str(tiny), threads=1, truncate_dim=8),
    ]
    for other in variants:
        assert other.signature() != base
    other_model = Embedder(str(save_tiny_model(tmp_path, "cls")), threads=1).signature()
    assert other_model["fingerprint"] != base["fingerprint"] and other_model["pooling"] == "cls"


def test_truncate_dim_out_of_range_is_refused(tiny: Path) -> None:
    with pytest.raises(ValueError, match="truncate_dim"):
        Embedder(str(tiny), threads=1, truncate_dim=17)


def test_cls_pooled_model_encodes_sentences_on_their_own(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    path = save_tiny_model(tmp_path, "cls")
    embedder = Embedder(str(path), threads=1)
    assert not embedder._token_pooling
    sentences = ["The agency issued new rules.", "Fines follow."]
    (chunk,) = embedder.encode_chunks([CHUNK], [_spans(CHUNK, sentences)])
    model = SentenceTransformer(str(path), device="cpu")
    np.testing.assert_allclose(
        chunk.vector, model.encode(CHUNK, prompt="passage: ", normalize_embeddings=True), atol=1e-5
    )
    np.testing.assert_allclose(
        chunk.sentence_vectors, model.encode(sentences, prompt="passage: ", normalize_embeddings=True), atol=1e-5
    )


def test_sentences_cut_off_by_truncation_are_encoded_on_their_own(tiny: Path, reference: Any) -> None:
    embedder = Embedder(str(tiny), threads=1)
    long_text = " ".join(["Word salad sentence number one goes on."] * 12) + " The last sentence."
    last = (long_text.rindex("The last"), len(long_text))
    (chunk,) = embedder.encode_chunks([long_text], [[(0, 10), last]])  # the model keeps 64 tokens
    alone = reference.encode("The last sentence.", prompt="passage: ", normalize_embeddings=True)
    np.testing.assert_allclose(chunk.sentence_vectors[1], alone, atol=1e-5)


@pytest.mark.slow
def test_minilm_chunk_vectors_match_its_encode(embedder: Embedder) -> None:
    """The bundled MiniLM has no prompts; chunk vectors are its plain encode, as before."""
    texts = [CHUNK, SENTENCE, "Short one.", CHUNK + " " + SENTENCE]
    got = np.stack([c.vector for c in embedder.encode_chunks(texts, [[(0, len(t))] for t in texts])])
    expected = embedder._model.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert embedder.query_prompt is None and embedder.document_prompt is None
    np.testing.assert_array_equal(embedder.encode_query(SENTENCE), embedder.encode([SENTENCE])[0])
    signature = embedder.signature()
    assert signature["dim"] == 384 and signature["truncate_dim"] is None


@pytest.mark.slow
def test_worker_processes_give_the_in_process_vectors(tiny: Path) -> None:
    """A large build's batches run on worker processes (index.models._pool): same chunk and
    sentence vectors as in-process, in the order asked, with progress for every chunk; a worker
    that dies only sends the rest of the work back in-process."""
    import os
    import signal
    import time

    from index.models._factory import worker_embedder
    from index.models._pool import POOL_MIN_CHUNKS, TASK_BATCHES, PooledEmbedder

    embedder = PooledEmbedder(str(tiny), batch_size=4, threads=2, document_prompt="passage: ", worker=worker_embedder)

    count = 4 * TASK_BATCHES * 3  # three tasks' worth: the pool is used, and by both workers
    texts = [f"Report {n} says the {'water' if n % 2 else 'grid'} operator was hit. Service came back." for n in range(count)]
    texts[7] = "A much longer chunk, about several agencies. " * 6 + "It ends here."
    spans = [[(0, t.index(".") + 1), (t.rindex(" ", 0, len(t) - 1) + 1, len(t))] for t in texts]
    alone = embedder.encode_chunks(texts, spans)
    done: list[int] = []
    with embedder.parallel(POOL_MIN_CHUNKS, processes=2):
        assert embedder._pool is not None and embedder._pool.workers == 2
        pooled = embedder.encode_chunks(texts, spans, done.append)
        executor = embedder._pool._executor
        assert len(executor._processes) == 2  # the work went to the workers
        os.kill(next(iter(executor._processes)), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not executor._broken and time.monotonic() < deadline:  # the pool notices on its own thread
            time.sleep(0.05)
        after_crash = embedder.encode_chunks(texts, spans)
        assert embedder._pool is None  # the broken pool was dropped
    assert embedder._pool is None  # stopped when the build is done
    assert sum(done) == len(texts)
    for a, b, c in zip(alone, pooled, after_crash, strict=True):
        assert np.allclose(a.vector, b.vector, atol=1e-6) and np.allclose(a.vector, c.vector, atol=1e-6)
        assert np.allclose(a.sentence_vectors, b.sentence_vectors, atol=1e-6)
    with embedder.parallel(POOL_MIN_CHUNKS - 1, processes=2):
        assert embedder._pool is None  # a small build embeds in-process
