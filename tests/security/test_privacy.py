"""What is stored about users can be deleted: ``policybot forget USER_ID`` erases one user's
questions (with the votes on them), votes and watches, and nobody else's."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.features.answers.feedback import FeedbackStore
from bot.features.watch.store import WatchStore


def test_forget_deletes_one_users_questions_votes_and_watches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    data = tmp_path / "data"
    fb = FeedbackStore(data / "feedback.sqlite")
    mine = fb.save_answer(question="my question", answer_json={"answerable": True}, user_id=1, guild_id=9, channel_id=8)
    theirs = fb.save_answer(question="their question", answer_json={"answerable": True}, user_id=2, guild_id=9, channel_id=8)
    fb.vote(mine, 2, 1)  # someone else's vote on my answer goes with it
    fb.vote(theirs, 1, -1)  # my vote on their answer goes
    fb.vote(theirs, 2, 1)
    fb.close()
    ws = WatchStore(data / "watches.sqlite")
    ws.add(1, "my watch question")
    ws.add(2, "their watch question")
    ws.close()

    assert main(["forget", "1", "--data", str(data)]) == 0
    assert "1 question(s), 2 vote(s), 1 watch(es)" in capsys.readouterr().out

    fb = FeedbackStore(data / "feedback.sqlite")
    assert fb.get_answer(mine) is None and fb.get_answer(theirs) is not None
    assert [(v["answer_id"], v["vote"]) for v in fb.votes()] == [(theirs, 1)]
    fb.close()
    ws = WatchStore(data / "watches.sqlite")
    assert [w.user_id for w in ws.every()] == [2]
    ws.close()
    for path in data.iterdir():  # secure_delete and a WAL checkpoint: the text is gone from disk too
        raw = path.read_bytes()
        assert b"my question" not in raw and b"my watch question" not in raw, path


def test_a_watch_belongs_to_its_user_only(tmp_path: Path, state_url: str | None) -> None:
    from bot.core.errors import BotError

    ws = WatchStore(tmp_path / "watches.sqlite", database_url=state_url)
    mine = ws.add(1, "EU incident reporting rules")
    with pytest.raises(BotError, match="already watch"):
        ws.add(1, "EU  incident reporting rules")
    assert ws.add(2**40, "EU incident reporting rules").id > mine.id  # Discord ids need 64 bits
    with pytest.raises(BotError, match="no watch"):
        ws.remove(2, mine.id)  # another user cannot remove (or see) it
    assert ws.of_user(2) == [] and [w.id for w in ws.of_user(1)] == [mine.id]
    assert ws.remove(1, mine.id) == mine and ws.of_user(1) == []
    ws.close()


def test_forget_in_the_database_deletes_one_users_rows(tmp_path: Path, postgres_url: str) -> None:
    fb = FeedbackStore(tmp_path / "feedback.sqlite", database_url=postgres_url)
    mine = fb.save_answer(question="my question", answer_json={"answerable": True}, user_id=1, guild_id=9, channel_id=8)
    theirs = fb.save_answer(question="their question", answer_json={"answerable": True}, user_id=2, guild_id=9, channel_id=8)
    fb.vote(mine, 2, 1)
    fb.vote(theirs, 1, -1)
    fb.vote(theirs, 2, 1)
    assert fb.forget_user(1) == (1, 2)
    assert fb.get_answer(mine) is None and [(v["answer_id"], v["vote"]) for v in fb.votes()] == [(theirs, 1)]
    fb.close()
    ws = WatchStore(tmp_path / "watches.sqlite", database_url=postgres_url)
    ws.add(1, "my watch question")
    ws.add(2, "their watch question")
    assert ws.forget_user(1) == 1 and [w.user_id for w in ws.every()] == [2]
    ws.close()
    assert not any(tmp_path.iterdir())  # nothing went to files
