"""Answers and 👍/👎 votes in SQLite beside (not inside) the index versions, or in PostgreSQL.
Each answer is stored under the random id its buttons carry, so they work after a restart; the
votes, with their questions and answers, become evaluation questions (``policybot feedback``)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.gaps import DECLINED, DOWNVOTED, GapQuestion
from bot.core.protocol import Slot
from bot.core.state_store import StateStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    user_id INTEGER,
    guild_id INTEGER,
    channel_id INTEGER,
    question TEXT NOT NULL,
    answerable INTEGER NOT NULL,
    answer_json TEXT NOT NULL,
    index_version TEXT
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT NOT NULL REFERENCES answers(id),
    user_id INTEGER NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    created_at REAL NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);
"""


@dataclass(frozen=True)
class AnswerRecord:
    id: str
    question: str
    answer: dict[str, Any]
    user_id: int | None


class FeedbackStore(StateStore):
    """Thread-safe; the ``a*`` methods run the database work in a worker thread."""

    def __init__(self, path: Path, *, database_url: str | None = None) -> None:
        super().__init__(
            path, SCHEMA, part="feedback", tables={"answers": "pb_answers", "feedback": "pb_feedback"}, database_url=database_url
        )

    def save_answer(
        self,
        *,
        question: str,
        answer_json: dict[str, Any],
        user_id: int | None,
        guild_id: int | None,
        channel_id: int | None,
        index_version: str | None = None,
    ) -> str:
        record_id = secrets.token_hex(8)
        with self._lock:
            self._db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record_id,
                    time.time(),
                    user_id,
                    guild_id,
                    channel_id,
                    question,
                    int(bool(answer_json.get("answerable"))),
                    json.dumps(answer_json, ensure_ascii=False),
                    index_version,
                ),
            )
        return record_id

    def update_answer(self, record_id: str, answer_json: dict[str, Any]) -> None:
        """Replace a stored answer by what the message now shows (a quoted answer edited into its
        written form), so votes and the Sources button refer to what was read."""
        with self._lock:
            self._db.execute(
                "UPDATE answers SET answer_json = ? WHERE id = ?", (json.dumps(answer_json, ensure_ascii=False), record_id)
            )

    def get_answer(self, record_id: str) -> AnswerRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, question, answer_json, user_id FROM answers WHERE id = ?", (record_id,)
            ).fetchone()
        if row is None:
            return None
        return AnswerRecord(row[0], row[1], json.loads(row[2]), row[3])

    def vote(self, record_id: str, user_id: int, vote: int) -> bool:
        """Store (or change) one user's vote; False when the answer is unknown."""
        with self._lock:
            known = self._db.execute("SELECT 1 FROM answers WHERE id = ?", (record_id,)).fetchone()
            if not known:
                return False
            self._db.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?) ON CONFLICT(answer_id, user_id) "
                "DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
                (record_id, user_id, 1 if vote > 0 else -1, time.time()),
            )
        return True

    def votes(self) -> list[dict[str, Any]]:
        """Every vote with its question, answer and index version, oldest first.

        Shaped to become evaluation questions (``policybot feedback``); who voted is left out.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT a.id, a.question, a.answer_json, a.index_version, f.vote, f.created_at "
                "FROM feedback f JOIN answers a ON a.id = f.answer_id ORDER BY f.created_at"
            ).fetchall()
        out = []
        for answer_id, question, answer_json, version, vote, at in rows:
            answer = json.loads(answer_json)
            out.append(
                {
                    "answer_id": answer_id,
                    "question": question,
                    "answer": answer.get("answer", ""),
                    "answerable": bool(answer.get("answerable")),
                    "articles": [s.get("article_id") for s in answer.get("sources", []) if isinstance(s, dict)],
                    "index_version": version,
                    "vote": vote,
                    "at": at,
                }
            )
        return out

    def gap_questions(self, since: float, guild_id: int | None = None) -> list[GapQuestion]:
        """Questions declined since ``since`` and questions whose answer got a 👎 since then, oldest
        first (the gap report); ``guild_id``: only those asked in that server."""
        where, args = ("AND a.guild_id = ?", (guild_id,)) if guild_id is not None else ("", ())
        with self._lock:
            declined = self._db.execute(
                f"SELECT a.id, a.question, a.created_at, a.guild_id FROM answers a "
                f"WHERE a.answerable = 0 AND a.created_at >= ? {where}", (since, *args)
            ).fetchall()
            downvoted = self._db.execute(
                f"SELECT a.id, a.question, MAX(f.created_at), a.guild_id FROM feedback f JOIN answers a ON a.id = f.answer_id "
                f"WHERE f.vote < 0 AND a.answerable = 1 AND f.created_at >= ? {where} GROUP BY a.id", (since, *args)
            ).fetchall()
        found = [GapQuestion(r[0], r[1], DECLINED, r[2], r[3]) for r in declined]
        found += [GapQuestion(r[0], r[1], DOWNVOTED, r[2], r[3]) for r in downvoted]
        return sorted(found, key=lambda q: (q.at, q.answer_id))

    def forget_user(self, user_id: int) -> tuple[int, int]:
        """Delete what is stored about one user: the questions they asked (with every vote on those
        answers) and their own votes. Returns (answers, votes) deleted (``policybot forget``)."""
        with self._lock, self._db.erasing(), self._db.transaction() as db:  # no old copy stays in the file
            on_theirs = db.execute(
                "DELETE FROM feedback WHERE answer_id IN (SELECT id FROM answers WHERE user_id = ?)", (user_id,)
            ).rowcount
            votes = db.execute("DELETE FROM feedback WHERE user_id = ?", (user_id,)).rowcount
            answers = db.execute("DELETE FROM answers WHERE user_id = ?", (user_id,)).rowcount
        return answers, votes + on_theirs

    # async wrappers: the database may wait on a lock, which must not stall the event loop
    async def asave_answer(self, **kwargs: Any) -> str:
        return await asyncio.to_thread(lambda: self.save_answer(**kwargs))

    async def aupdate_answer(self, record_id: str, answer_json: dict[str, Any]) -> None:
        await asyncio.to_thread(self.update_answer, record_id, answer_json)

    async def aget_answer(self, record_id: str) -> AnswerRecord | None:
        return await asyncio.to_thread(self.get_answer, record_id)

    async def avote(self, record_id: str, user_id: int, vote: int) -> bool:
        return await asyncio.to_thread(self.vote, record_id, user_id, vote)


FEEDBACK = Slot("feedback", FeedbackStore)
"""``bot.feedback``: where a button's callback, which has only the client, finds the answers."""
