"""write_answer over real HTTP against the fake server: every way a reply can go, streamed or not."""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

import pytest

from index.generation._openai_compat import OpenAICompatible
from index.generation._types import GenerationError, Passage, Written
from index.generation._writer import write_answer
from tests.support.fake_llm import FakeLLM, Reply

GOOD = (
    "Yes. [1] Sundar Pichai of Google and Tim Cook of Apple attended[1] , and Colonial Pipeline paid $4.4 million [2]."
)
GOOD_TIDY = (
    "Yes [1]. Sundar Pichai of Google and Tim Cook of Apple attended [1], and Colonial Pipeline paid $4.4 million [2]."
)
SECRET = "sk-SECRET-0123456789"


@pytest.fixture(params=[True, False], ids=["stream", "json"])
def backend(request: pytest.FixtureRequest, fake_llm: FakeLLM) -> OpenAICompatible:
    return OpenAICompatible(fake_llm.url, "fake", SECRET, stream=request.param)


def ask(backend: OpenAICompatible, passages: list[Passage], budget_s: float = 10.0) -> Written:
    return write_answer("Who attended, and what was paid?", passages, backend, budget_s=budget_s)


def test_good_answer_is_sent(backend: OpenAICompatible, fake_llm: FakeLLM, passages: list[Passage], nlp: Any) -> None:
    fake_llm.reply = Reply(GOOD)
    written = ask(backend, passages)
    assert written.generated is True
    assert written.checker == "passed"
    assert written.text == GOOD_TIDY
    assert written.citations == (1, 2)
    assert written.backend == "openai:fake"
    assert written.draft == GOOD
    assert 0 < written.ms < 10_000
    sent = fake_llm.requests[0]
    assert sent["model"] == "fake" and sent["stream"] is backend.stream and sent["temperature"] == 0
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert fake_llm.headers[0]["Authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply("Sundar Pichai and Tim Cook attended the meeting."), "no citation in sentence 1"),
        (Reply("Tim Cook attended [1]. Colonial Pipeline paid a ransom."), "no citation in sentence 2"),
        (Reply("John Smith of Google attended [1]."), "'John Smith' is not in the cited passages [1]"),
        (Reply("Colonial Pipeline paid $5 million [2]."), "'$5 million' is not in the cited passages [2]"),
        (Reply("Colonial Pipeline paid $4.4 million [1]."), "'$4.4 million' is not in the cited passages [1]"),
        (Reply("Tim Cook attended [4]."), "cites [4] which does not exist"),
        (Reply(raw="{'choices': [oops"), "malformed response"),
        (Reply(raw='{"id": "no choices"}'), "malformed response"),
        (Reply(status=429), "HTTP 429"),
        (Reply(status=500), "HTTP 500"),
        (Reply(""), "empty answer"),
        (Reply("I cannot tell from these sources."), "the model could not tell from the passages"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bad_replies_fall_back(
    backend: OpenAICompatible, fake_llm: FakeLLM, passages: list[Passage], nlp: Any, reply: Reply, reason: str
) -> None:
    fake_llm.reply = reply
    written = ask(backend, passages)
    assert written == Written("", False, reason, (), "openai:fake", written.ms, written.draft)
    assert len(fake_llm.requests) == 1


def test_reply_slower_than_the_budget(backend: OpenAICompatible, fake_llm: FakeLLM, passages: list[Passage]) -> None:
    fake_llm.reply = Reply(GOOD, delay=3.0)
    started = time.monotonic()
    written = ask(backend, passages, budget_s=0.5)
    elapsed = time.monotonic() - started
    assert (written.generated, written.checker, written.text) == (False, "timeout after 0.5 s", "")
    assert elapsed < 1.5
    assert 400 < written.ms < 1500


def test_trickling_stream_still_meets_the_deadline(fake_llm: FakeLLM, passages: list[Passage]) -> None:
    """Every chunk arrives well within a socket timeout; the whole reply does not."""
    fake_llm.reply = Reply(GOOD, chunk_delay=0.15)
    started = time.monotonic()
    written = ask(OpenAICompatible(fake_llm.url, "fake", None), passages, budget_s=0.5)
    assert (written.generated, written.checker) == (False, "timeout after 0.5 s")
    assert time.monotonic() - started < 1.5


def test_stream_reply_to_a_non_stream_request_is_read(fake_llm: FakeLLM, passages: list[Passage], nlp: Any) -> None:
    fake_llm.reply = Reply(GOOD, stream=True)
    written = ask(OpenAICompatible(fake_llm.url, "fake", None, stream=False), passages)
    assert written.generated and written.text == GOOD_TIDY


def test_malformed_chunk_in_a_stream(fake_llm: FakeLLM, passages: list[Passage]) -> None:
    fake_llm.reply = Reply(raw='{"choices": [{"delta": {"content": "Yes [1]."}}', stream=True)
    written = ask(OpenAICompatible(fake_llm.url, "fake", None), passages)
    assert (written.generated, written.checker) == (False, "malformed response")


def test_nothing_to_write_from_calls_no_model(fake_llm: FakeLLM) -> None:
    written = write_answer("Who attended?", [], OpenAICompatible(fake_llm.url, "fake", None))
    assert (written.generated, written.checker, written.text) == (False, "nothing to write from", "")
    assert fake_llm.requests == []


def test_unreachable_server() -> None:
    backend = OpenAICompatible("http://127.0.0.1:9/v1", "fake", SECRET)
    with pytest.raises(GenerationError) as info:
        backend.complete([{"role": "user", "content": "hi"}], timeout=2)
    assert info.value.reason == "cannot connect to the LLM server"


def test_model_is_omitted_when_not_set(fake_llm: FakeLLM, passages: list[Passage], nlp: Any) -> None:
    fake_llm.reply = Reply(GOOD)
    ask(OpenAICompatible(fake_llm.url + "/", None, None), passages)
    assert "model" not in fake_llm.requests[0]
    assert "Authorization" not in fake_llm.headers[0]


def test_api_key_never_leaks(fake_llm: FakeLLM, passages: list[Passage], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    backend = OpenAICompatible(fake_llm.url, "fake", SECRET)
    assert SECRET not in repr(backend) and SECRET not in str(backend)
    assert not hasattr(backend, "__dict__")
    fake_llm.reply = Reply(status=500)
    with pytest.raises(GenerationError) as info:
        backend.complete([{"role": "user", "content": "hi"}], timeout=5)
    assert SECRET not in "".join(traceback.format_exception(info.value))
    for broken in (OpenAICompatible("http://127.0.0.1:9/v1", "m", SECRET),):
        with pytest.raises(GenerationError) as info:
            broken.complete([], timeout=2)
        assert SECRET not in "".join(traceback.format_exception(info.value))
    written = write_answer("q", passages, backend)
    assert SECRET not in repr(written)
    assert SECRET not in caplog.text
