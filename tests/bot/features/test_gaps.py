"""End to end: the gap report groups paraphrases of a declined question, counts declined and 👎
questions, names each group's nearest article, shows a moderator only their server's questions
(/index gaps), and `policybot gaps --export` writes questions the evaluation loader reads back."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

import bot.cli as cli
from bot.features.answers.feedback import FEEDBACK, FeedbackStore
from index.engine import Engine
from measure.eval.dataset import load_jsonl
from measure.fakediscord import FakeDiscord
from tests.bot.conftest import Workspace

pytestmark = pytest.mark.slow  # the real engine and model behind the fake Discord

IVANTI = (
    "Who discovered the Ivanti VPN vulnerabilities?",
    "Which researchers found the flaws in Ivanti's VPN?",
    "who first found the ivanti vpn security holes",
)
BITCOIN = "What is the price of bitcoin today?"
CRA = "What does the EU Cyber Resilience Act require from manufacturers?"
ELSEWHERE = "Who discovered the Ivanti VPN vulnerabilities first?"  # asked in another server
OLD = "Which researchers found the Ivanti VPN flaws last year?"  # asked long ago


def declined(store: FeedbackStore, question: str, guild_id: int | None) -> str:
    return store.save_answer(
        question=question, answer_json={"answerable": False, "answer": "", "sources": []},
        user_id=1, guild_id=guild_id, channel_id=2,
    )


def fill(store: FeedbackStore, db_path: Path, guild_id: int) -> None:
    for q in IVANTI:
        declined(store, q, guild_id)
    declined(store, BITCOIN, guild_id)
    answered = store.save_answer(
        question=CRA, answer_json={"answerable": True, "answer": "Manufacturers …", "sources": []},
        user_id=3, guild_id=guild_id, channel_id=2,
    )
    assert store.vote(answered, 4, -1) and store.vote(answered, 5, -1)  # two 👎 on one answer: one question
    liked = store.save_answer(
        question="When must agencies disconnect Ivanti VPN appliances?",
        answer_json={"answerable": True, "answer": "By February 2, 2024.", "sources": []},
        user_id=3, guild_id=guild_id, channel_id=2,
    )
    assert store.vote(liked, 4, 1)  # a 👍 is no gap
    declined(store, ELSEWHERE, 999)
    old = declined(store, OLD, guild_id)
    db = sqlite3.connect(db_path)
    try:
        with db:
            db.execute("UPDATE answers SET created_at = ? WHERE id = ?", (time.time() - 30 * 86400, old))
    finally:
        db.close()


async def test_index_gaps_groups_paraphrases_names_the_nearest_article_and_exports(
    fake: FakeDiscord, start_bot: Any, workspace: Workspace, no_pings_everywhere: None,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bot = await start_bot()
    store = FEEDBACK.of(bot)
    fill(store, bot.settings.feedback_db, int(fake.guild["id"]))

    refused = await fake.slash("index", {}, sub="gaps", user=fake.bob)
    await fake.wait_for(lambda: refused.callbacks)
    assert "Only moderators" in refused.callbacks[0]["data"]["content"]

    inter = await fake.slash("index", {"days": 7}, sub="gaps", user=fake.admin)
    embed = (await fake.wait_for(inter.messages, timeout=60))[0]["embeds"][0]
    blocks = embed["description"].split("\n\n")
    first = blocks[0]
    assert first.splitlines()[0] == "**1.** 3 question(s): 3 declined, 0 👎"
    assert all(q in first for q in IVANTI)
    assert "CISA orders agencies to disconnect Ivanti VPN appliances" in first and "`cisa-ivanti-directive`" in first
    cra = next(b for b in blocks if CRA in b)
    assert "0 declined, 1 👎" in cra and "EU lawmakers adopt the Cyber Resilience Act" in cra
    assert any(BITCOIN in b and "1 declined" in b for b in blocks)
    assert len(blocks) == 3  # the 👍 question is no gap
    assert ELSEWHERE not in embed["description"] and OLD not in embed["description"]  # other server; too old

    # the operator's report: every server's questions, and an export the evaluation reads back
    monkeypatch.setattr(cli, "Engine", lambda settings: Engine(settings, embedder=workspace.embedder))
    out = tmp_path / "gaps.jsonl"
    assert cli.main(["gaps", "--data", str(workspace.data), "--corpus", str(workspace.corpus), "--export", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1. 4 question(s): 4 declined, 0 👎" in printed and "(cisa-ivanti-directive)" in printed
    loaded = load_jsonl(out)
    questions = {q.question: q for q in loaded.questions}
    assert set(questions) == {*IVANTI, ELSEWHERE, BITCOIN, CRA}
    assert all(q.unanswerable for q in loaded.questions)
    assert questions[CRA].kind == "gap-downvoted" and questions[BITCOIN].kind == "gap-declined"
    assert len({q.id for q in loaded.questions}) == len(loaded.questions)
    assert questions[IVANTI[0]].asked_on is not None


def test_gaps_needs_stored_questions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["gaps", "--data", str(tmp_path / "none")]) == 1
    assert "no questions stored yet" in capsys.readouterr().err
