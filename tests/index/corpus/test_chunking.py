"""Token-budget chunking, boilerplate lines, and reuse of vectors only under the same chunking."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from index.corpus._chunking import (
    BODY,
    BYLINE,
    CAPTION,
    CREDIT,
    TokenBudget,
    chunk_article,
    chunk_sentences,
    chunk_tokens,
    drop_boilerplate,
    embedding_text,
    estimate_tokens,
    is_boilerplate,
    split_marked,
)
from index.models._embedder import resolve_model_path
from index.models._tokens import model_tokenizer, token_budget
from index.settings import DEFAULT_MODEL, Settings
from index.store import _versions as versions
from index.store._execute import build_index
from index.store._snapshot import Snapshot
from index.types import Article
from tests.support.articles import write_article
from tests.support.fakes import FakeEncoder


def words(texts: list[str] | tuple[str, ...]) -> list[int]:
    """A counter that is easy to reason about: one token per word."""
    return [len(t.split()) for t in texts]


def make_article(title: str, text: str) -> Article:
    return Article(id="a", path="a.md", title=title, source="wire", url="", published=None, text=text)


WORDS = TokenBudget(tokens=22, count=words, special_tokens=2)


def sentences_of(lengths: list[int]) -> list[str]:
    return [" ".join(["w"] * (n - 1) + [f"s{i}."]) for i, n in enumerate(lengths)]


def test_token_chunks_are_packed_to_the_budget_with_the_title() -> None:
    sentences = sentences_of([5, 5, 5, 5, 5, 5, 5])
    # 22 tokens - 2 special - 2 for the title ("Big news\n") = 18 tokens of sentences: three of 5.
    chunks = chunk_tokens(sentences, WORDS, overlap=0, title="Big news")
    assert [(c.first_sentence, c.last_sentence) for c in chunks] == [(0, 2), (3, 5), (6, 6)]
    assert chunks[0].text == " ".join(sentences[:3])
    # Without a title there is room for four.
    assert [(c.first_sentence, c.last_sentence) for c in chunk_tokens(sentences, WORDS, 0)] == [(0, 3), (4, 6)]


def test_token_chunks_overlap_cover_everything_and_are_maximal() -> None:
    lengths = [3, 9, 4, 12, 2, 2, 7, 5, 30, 1, 6]
    sentences = sentences_of(lengths)
    chunks = chunk_tokens(sentences, WORDS, overlap=1, title="T")
    covered = [i for c in chunks for i in range(c.first_sentence, c.last_sentence + 1)]
    assert sorted(set(covered)) == list(range(len(sentences)))
    room = 22 - 2 - 1
    for a, b in itertools.pairwise(chunks):
        assert b.first_sentence == a.last_sentence or a.first_sentence == a.last_sentence
        # maximal: the next sentence would not have fitted
        assert sum(lengths[a.first_sentence : a.last_sentence + 2]) > room
    for c in chunks:  # within the budget, unless one sentence is too long on its own (the 30)
        assert sum(lengths[c.first_sentence : c.last_sentence + 1]) <= room or c.first_sentence == c.last_sentence
    assert any(c.first_sentence == c.last_sentence == 8 for c in chunks)
    with pytest.raises(ValueError):
        chunk_tokens(sentences, WORDS, overlap=-1)


def test_labels_of_non_body_sentences_count_against_the_budget() -> None:
    sentences = sentences_of([6, 6, 7])  # 19 of the 20 tokens of room
    plain = chunk_tokens(sentences, WORDS, 0)
    captioned = chunk_tokens(sentences, WORDS, 0, kinds=[BODY, BODY, CAPTION])  # "Photo caption:" = 2 more
    assert [(c.first_sentence, c.last_sentence) for c in plain] == [(0, 2)]
    assert [(c.first_sentence, c.last_sentence) for c in captioned] == [(0, 1), (2, 2)]
    assert captioned[1].text.startswith("Photo caption: ")


def test_default_model_budget_uses_its_tokenizer_and_fits_its_window() -> None:
    budget = token_budget(DEFAULT_MODEL, 10_000)
    assert budget is not None and budget.counter_name == "tokenizer"
    assert budget.tokens == 256  # capped at all-MiniLM-L6-v2's max_seq_length
    assert budget.special_tokens == 2  # [CLS] and [SEP]
    assert token_budget(DEFAULT_MODEL, 0) is None
    unknown = token_budget("no-such-model-folder", 200)
    assert unknown is not None and unknown.counter_name == "estimate" and unknown.tokens == 200


def test_real_chunks_fit_the_model_window() -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(resolve_model_path(DEFAULT_MODEL)) / "tokenizer.json"))
    tokenizer.no_truncation()
    body = " ".join(
        f"The agency said on day {i} that the operator of pipeline {i} had reported the incident to CISA "
        f"within {i % 24} hours, as Directive SD-2021-0{i % 9} requires."
        for i in range(60)
    )
    title = "TSA security directive: pipeline operators report incidents"
    article = make_article(title, body)
    budget = token_budget(DEFAULT_MODEL, 256)
    chunked = chunk_article(article, budget=budget, overlap=0)
    assert len(chunked.chunks) >= 5
    sizes = [len(tokenizer.encode(embedding_text(title, c.text)).ids) for c in chunked.chunks]
    assert max(sizes) <= 256
    assert min(sizes[:-1]) > 256 - 45  # every chunk but the last is nearly full (a sentence is ~40 tokens)


def test_estimate_is_close_to_the_tokenizer() -> None:
    loaded = model_tokenizer(resolve_model_path(DEFAULT_MODEL))
    assert loaded is not None
    count = loaded[0]
    texts = [
        "The Cybersecurity and Infrastructure Security Agency (CISA) issued Emergency Directive 21-01 on Dec. 13.",
        "Colonial Pipeline paid a $4.4 million ransom to the DarkSide group, CEO Joseph Blount told senators.",
        "Le ministère a publié un rapport sur l'incident, selon Reuters.",
    ]
    real, guess = sum(count(texts)), sum(estimate_tokens(texts))
    assert 0.85 * real <= guess <= 1.3 * real


def test_zero_budget_keeps_sentence_windows() -> None:
    article = make_article("t", " ".join(f"Sentence {i} is here." for i in range(9)))
    chunked = chunk_article(article, 4, 1, None)
    assert (
        [(c.first_sentence, c.last_sentence) for c in chunked.chunks]
        == [(c.first_sentence, c.last_sentence) for c in chunk_sentences(chunked.sentences, 4, 1)]
        == [(0, 3), (3, 6), (6, 8)]
    )


BOILERPLATE = [
    "Advertisement",
    "ADVERTISEMENT",
    "Advertisement - Scroll to continue",
    "Story continues below advertisement",
    "Sign up for our newsletter to get the latest news in your inbox.",
    "Subscribe now",
    "Share this article",
    "Share on Facebook",
    "Read more: What the new SEC rule means for you",
    "READ MORE: Colonial Pipeline explained",
    "Related: Ransomware | Pipelines | CISA",
    "See also: the 2021 directive",
    "We use cookies to improve your experience. By continuing you accept our cookie policy.",
    "This website uses cookies.",
    "Accept all cookies",
    "© 2023 Example News. All rights reserved.",
    "Copyright 2024 The Daily Ledger",
    "All rights reserved.",
]
REAL_SENTENCES = [
    "Advertisement spending on social platforms rose 5% last year, the report said.",
    "Advertisements for the fake app ran for weeks before Google removed them.",
    "Read more about the bill on the committee's website, the senator told reporters.",
    "Related legislation passed the Senate in May.",
    "Share prices fell 7% after the breach was disclosed.",
    "Sign up rates for the bug bounty doubled after the announcement.",
    "Subscribers were told to reset their passwords.",
    "The regulator said sites that write 'we use cookies' must also offer a reject button.",
    "Cookie banners that hide the reject button break the law, the CNIL ruled.",
    "Copyright holders sued the company in 2023.",
    "The court said all rights reserved by the contract remained with the vendor, and dismissed the claim.",
    "Print and online editions carried the correction.",
    "Recommended security settings were published by CISA on Monday.",
    "Email was the attack vector in most of the 2,000 incidents studied.",
    "Trending: ransomware attacks on hospitals doubled in 2023, the FBI said in a report that covered all fifty states and was published on Tuesday after months of delay.",
]


@pytest.mark.parametrize("line", BOILERPLATE)
def test_boilerplate_lines_are_recognised(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize("sentence", REAL_SENTENCES)
def test_real_sentences_are_never_boilerplate(sentence: str) -> None:
    assert not is_boilerplate(sentence)


def test_boilerplate_is_neither_stored_nor_embedded_and_kinds_survive() -> None:
    text = "\n\n".join(
        [
            "By Jane Doe",
            "WASHINGTON -- The agency issued a directive on Monday. Owners must report within 12 hours.",
            "Advertisement",
            "Photo: Jane Doe/Reuters",
            "Related Articles",
            "Pipeline hack explained",
            "Why ransomware pays",
            "Share prices fell 7% after the breach was disclosed.",
            "Read more: What the directive means",
            "AFP",
            "© 2023 Example News. All rights reserved.",
        ]
    )
    marked = split_marked(text)
    sentences = [s for s, _ in marked]
    assert sentences == [
        "By Jane Doe",
        "WASHINGTON -- The agency issued a directive on Monday.",
        "Owners must report within 12 hours.",
        "Photo: Jane Doe/Reuters",
        "Share prices fell 7% after the breach was disclosed.",
        "AFP",
    ]
    assert [k for _, k in marked] == [BYLINE, "dateline", BODY, CAPTION, BODY, CREDIT]


def test_link_titles_are_dropped_only_under_a_related_header() -> None:
    assert drop_boilerplate(["Related Articles", "Pipeline hack explained", "The directive took effect."]) == [
        "The directive took effect."
    ]
    # The same short line with no header before it is kept (a subheading, say).
    assert drop_boilerplate(["Pipeline hack explained", "The directive took effect."]) == [
        "Pipeline hack explained",
        "The directive took effect.",
    ]


class Counting(FakeEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.chunks = 0

    def encode_chunks(self, texts, spans, progress=None):  # type: ignore[no-untyped-def]
        self.chunks += len(texts)
        return super().encode_chunks(texts, spans, progress)


def test_vectors_are_reused_only_under_the_same_chunking(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    long = " ".join(f"The operator reported incident number {i} to the agency within hours." for i in range(30))
    write_article(corpus, "long", long)
    write_article(corpus, "short", "A new law requires reporting of ransom payments within 24 hours.")
    by_sentences = Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=corpus, chunk_tokens=0)
    by_tokens = by_sentences.with_(chunk_tokens=256, chunk_overlap=0)
    enc = Counting()

    first = build_index(by_sentences, embedder=enc)
    assert first.chunks_embedded == enc.chunks > 0
    enc.chunks = 0
    second = build_index(by_tokens, embedder=enc)
    # Another chunking: nothing is copied, every article is cut and embedded again.
    assert (second.changed, second.unchanged) == (2, 0) and enc.chunks == second.chunks_total
    snap = Snapshot(versions.versions_dir(by_tokens.data_dir) / second.version)
    assert snap.by_id["long"].chunk_count < first.chunks_total - 1  # fewer, fuller chunks
    enc.chunks = 0
    third = build_index(by_tokens, embedder=enc)
    assert enc.chunks == 0 and third.unchanged == 2
    fourth = build_index(by_tokens.with_(chunk_overlap=1), embedder=enc)
    assert fourth.unchanged == 0 and enc.chunks == fourth.chunks_total


def test_bfloat16_batches_agree_with_float32(embedder: object) -> None:
    from index.models._embedder import Embedder

    bf16 = Embedder(batch_dtype="bfloat16")
    f32 = embedder  # the session model: float32 batches by default
    assert bf16.batch_dtype == "bfloat16" and f32.batch_dtype == "float32"  # type: ignore[attr-defined]
    assert Embedder(batch_dtype="auto").batch_dtype in ("float32", "bfloat16")
    texts = [
        "Pipeline rules\nThe agency issued a directive. Owners must report incidents within 12 hours.",
        "Ransom\nThe company paid $4.4 million. The FBI later recovered most of it.",
    ]
    spans = [[(15, 43), (44, 90)], [(7, 37), (38, 72)]]
    a = bf16.encode_chunks(texts, spans)
    b = f32.encode_chunks(texts, spans)  # type: ignore[attr-defined]
    for x, y in zip(a, b, strict=True):
        assert float(x.vector @ y.vector) > 0.99
        assert np.all(np.sum(x.sentence_vectors * y.sentence_vectors, axis=1) > 0.99)
    with pytest.raises(ValueError):
        Embedder(batch_dtype="float16")
