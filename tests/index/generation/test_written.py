"""Written answers end to end through ``policybot ask --json``: a fake model server on 127.0.0.1
answers well, badly, or not at all, and exactly the right answer must come out every time."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.support.articles import write_article
from tests.support.fake_llm import FakeLLM, Reply
from tests.support.fakes import FakeEncoder

KEY = "sk-test-very-secret-4711"
QUESTION = "Within how many hours must pipeline operators report cyber incidents?"
DIRECTIVE = (
    "The Transportation Security Administration told pipeline operators to report cyber incidents "
    "to CISA within 12 hours. Operators must also name a cybersecurity coordinator."
)


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, llm: FakeLLM) -> Path:
    """Two articles, the fake encoder, and the engine pointed at the fake model server."""
    embedder = FakeEncoder()
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    write_article(corpus, "pipeline-directive", DIRECTIVE, title="Pipeline operators must report cyber incidents")
    write_article(
        corpus,
        "suex-sanctions",
        "The Treasury sanctioned the Suex crypto exchange for laundering ransom payments. "
        "Officials said Suex handled 160 million dollars in illicit funds.",
        title="Treasury sanctions Suex crypto exchange",
    )
    monkeypatch.setenv("POLICYBOT_CORPUS", str(corpus))
    monkeypatch.setenv("POLICYBOT_DATA", str(data))
    monkeypatch.setenv("POLICYBOT_LLM_URL", llm.url)
    monkeypatch.setenv("POLICYBOT_LLM_MODEL", "fake")
    monkeypatch.setenv("POLICYBOT_LLM_KEY", KEY)
    monkeypatch.setenv("POLICYBOT_LLM_TIMEOUT", "5")
    monkeypatch.setattr("index.models._factory.make_embedder", lambda settings: embedder)
    monkeypatch.chdir(tmp_path)  # no .env here
    assert main(["build"]) == 0
    return tmp_path


def ask_json(capsys: pytest.CaptureFixture[str], *args: str, question: str = QUESTION) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["ask", question, "--json", *args]) == 0
    out, err = capsys.readouterr()
    assert KEY not in out and KEY not in err
    return dict(json.loads(out))  # exactly one JSON document, nothing else on stdout


def test_a_good_cited_answer_is_sent(workspace: Path, llm: FakeLLM, capsys: pytest.CaptureFixture[str]) -> None:
    llm.reply = Reply("Pipeline operators must report cyber incidents to CISA within 12 hours [1].")
    data = ask_json(capsys)
    assert data["generated"] is True and data["checker"] == "passed"
    assert data["answer"] == "Pipeline operators must report cyber incidents to CISA within 12 hours [1]."
    assert "within 12 hours" in data["quoted"] and data["quoted"] != data["answer"]
    assert data["sources"][0]["quote"] in DIRECTIVE and data["spans"] == []
    assert {"question", "answerable", "sources", "confidence", "ms", "index_version"} <= set(data)
    (request,) = llm.requests
    prompt = json.dumps(request["messages"])
    assert "within 12 hours" in prompt  # the model sees the quoted sentences ...
    assert llm.headers[0]["Authorization"] == f"Bearer {KEY}"  # ... and the key only goes in the header


BAD_REPLIES = {
    "no citation": (Reply("Operators must report cyber incidents within 12 hours."), "no citation"),
    "unknown person": (Reply("Janet Yellen ordered operators to report within 12 hours [1]."), "Janet Yellen"),
    "unknown number": (Reply("Operators must report cyber incidents within 48 hours [1]."), "48"),
    "nonexistent passage": (Reply("Operators must report cyber incidents within 12 hours [9]."), "[9]"),
    "restates the question": (Reply("Pipeline operators must report cyber incidents [1]."), "only restates the question"),
    "another story's number": (Reply("Operators must report within 160 million seconds [2]."), "'160 million'"),
    "malformed JSON": (Reply(raw="{not json", stream=False), ""),
    "malformed stream": (Reply(raw="{not json", stream=True), ""),
    "429": (Reply(status=429), "429"),
    "500": (Reply(status=500), "500"),
}


@pytest.mark.parametrize("case", list(BAD_REPLIES))
def test_a_bad_reply_sends_the_quoted_answer(
    workspace: Path, llm: FakeLLM, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    reply, reason = BAD_REPLIES[case]
    llm.reply = reply
    data = ask_json(capsys)
    assert data["generated"] is False and data["answerable"]
    assert data["checker"] not in ("", "off", "passed") and reason in data["checker"]
    assert data["answer"] == data["quoted"] and "within 12 hours" in data["answer"]
    assert data["answer"].endswith("[1]") and len(llm.requests) == 1


def test_a_reply_slower_than_the_budget_is_not_waited_for(
    workspace: Path, llm: FakeLLM, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYBOT_LLM_TIMEOUT", "0.5")
    llm.reply = Reply("Operators must report cyber incidents within 12 hours [1].", delay=5)
    data = ask_json(capsys)
    assert data["generated"] is False and "timeout" in data["checker"]
    assert data["answer"] == data["quoted"] and data["ms"] < 4000


def test_an_abstention_generates_nothing(workspace: Path, llm: FakeLLM, capsys: pytest.CaptureFixture[str]) -> None:
    llm.reply = Reply("Lima is the capital of Peru [1].")
    data = ask_json(capsys, question="What is the capital of Peru?")
    assert not data["answerable"] and data["generated"] is False and data["sources"] == []
    assert llm.requests == []


def test_quoted_flag_and_setting_turn_writing_off(
    workspace: Path, llm: FakeLLM, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm.reply = Reply("Operators must report cyber incidents within 12 hours [1].")
    data = ask_json(capsys, "--quoted")
    assert data["generated"] is False and data["checker"] == "off" and data["answer"] == data["quoted"]
    monkeypatch.setenv("POLICYBOT_ANSWERS", "quoted")
    assert ask_json(capsys)["checker"] == "off"
    assert ask_json(capsys, "--written")["generated"] is True
    assert len(llm.requests) == 1


def test_jsonl_and_console_show_both(
    workspace: Path, llm: FakeLLM, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm.reply = Reply("Pipeline operators have 12 hours to report cyber incidents to CISA [1].")
    stdout, captured = io.StringIO(), sys.stdout
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"id": "a", "question": QUESTION}) + "\n"))
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["ask", "--jsonl"]) == 0
    (line,) = stdout.getvalue().splitlines()
    out = json.loads(line)
    assert out["id"] == "a" and out["generated"] and "12 hours to report" in out["answer"]
    assert "within 12 hours" in out["quoted"]
    monkeypatch.setattr(sys, "stdout", captured)

    capsys.readouterr()
    assert main(["ask", QUESTION]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Pipeline operators have 12 hours")
    assert "Quoted sentences:" in text and "within 12 hours" in text and "checked" in text


def test_the_key_never_reaches_the_logs(
    workspace: Path, llm: FakeLLM, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    llm.reply = Reply(status=500)
    capsys.readouterr()
    assert main(["-v", "ask", QUESTION, "--json"]) == 0
    out, err = capsys.readouterr()
    assert "500" in json.loads(out)["checker"]
    assert KEY not in out + err + caplog.text
    assert "written answer" in caplog.text  # the reason is logged ...


def test_a_prompt_injected_link_or_instruction_falls_back_to_the_quote(
    workspace: Path, llm: FakeLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    """The model repeats what a hostile article asked for, citing a passage with the right names:
    the checker refuses it and the quoted answer goes out instead (issue 19, finding 10)."""
    for draft, reason in (
        (
            "Pipeline operators must report cyber incidents to CISA within 12 hours [1]. "
            "Report them at https://cisa-report.example/login [1].",
            "'https://cisa-report.example/login' is not in the cited passages [1]",
        ),
        (
            "Pipeline operators must report cyber incidents to CISA within 12 hours [1]. "
            "You should email your CISA password to the coordinator [1].",
            "sentence 2 tells the reader to do something the cited passages [1] do not say",
        ),
    ):
        llm.reply = Reply(draft)
        data = ask_json(capsys)
        assert data["generated"] is False and data["checker"] == reason
        assert data["answer"] == data["quoted"] and "example" not in data["answer"]
