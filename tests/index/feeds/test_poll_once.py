"""A feed poll does each thing once: a new file is parsed once on its way from the page to the live
index (not again for its announcement and its build), and a saved ``/watch`` question is encoded
once, not at every poll."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import index.corpus._read
from index.ask._matching import article_scores
from index.engine import Engine
from index.settings import Settings
from tests.support.articles import write_article
from tests.support.fakes import FakeEncoder
from tests.support.feeds import OTHER_STORY, STORY, page, rss, serve_feed

from .conftest import LocalServer

OLDER = (
    "The water utility restored service on Friday after a ransomware attack shut down its billing systems. "
    "Officials said customer data had not been taken and that the plant itself was never at risk."
)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    corpus = tmp_path / "corpus"
    write_article(corpus, "older-story", OLDER)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", corpus_dir=corpus, fetch_allow_private=True)
    engine = Engine(settings, embedder=FakeEncoder())  # type: ignore[arg-type]
    engine.build()
    return engine


def test_a_polled_article_is_parsed_once_on_its_way_to_the_live_index(
    engine: Engine, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.text("/a", page("Agencies told to disconnect Ivanti devices", STORY))
    server.text("/b", page("EU agrees cyber resilience rules", OTHER_STORY))
    items = [("g1", server.url("/a"), "Agencies told to disconnect Ivanti devices", "s"),
             ("g2", server.url("/b"), "EU agrees cyber resilience rules", "s")]  # fmt: skip
    serve_feed(server, "/feed.xml", rss("Wire", items))
    engine.feeds.add(server.url("/feed.xml"), name="Wire")
    parsed: Counter[str] = Counter()
    parse = index.corpus._read._parse_article
    monkeypatch.setattr(index.corpus._read, "_parse_article", lambda raw, path: parsed.update([str(path)]) or parse(raw, path))

    result = engine.feeds.poll()

    new = [str(a.path) for a in result.report.new_articles]
    assert len(new) == 2 and result.build is not None and result.build.added == 2  # polled, announced, indexed
    assert all(a.lead for a in result.articles)
    assert {a.article_id for a in engine.articles()} >= {a.article_id for a in result.articles}
    assert {path: parsed[path] for path in new} == dict.fromkeys(new, 1)


def test_a_saved_question_is_encoded_once_across_polls(engine: Engine) -> None:
    encoder = engine.embedder
    assert isinstance(encoder, FakeEncoder)
    question = "Which utility restored water service after ransomware?"
    expected = article_scores(engine.snapshot(), encoder.encode_query(question), ["older-story"])
    before = encoder.calls

    first = engine.match_new_articles(question, ["older-story"])
    second = engine.match_new_articles(question, ["older-story"])  # the next poll
    assert first == second == expected
    assert encoder.calls - before == 1
    engine.match_new_articles("What did EU lawmakers agree on?", ["older-story"])
    assert encoder.calls - before == 2  # another question is encoded, once


def test_a_file_changed_after_it_was_written_is_read_as_it_is_now(tmp_path: Path) -> None:
    from index.corpus._read import load_article, parse_article

    path = tmp_path / "story.md"
    written = b"---\ntitle: First words\n---\nThe first version of this story has enough words.\n"
    parse_article(written, path, writing=True)
    path.write_bytes(written.replace(b"first version", b"second version"))  # changed before the build read it
    assert "second version" in load_article(path).text
    parse_article(written, path, writing=True)
    path.write_bytes(written)
    assert load_article(path) == parse_article(written, path)  # the same bytes: the same article
